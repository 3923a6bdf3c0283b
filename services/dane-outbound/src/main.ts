import { runService } from "@postern/service-kit";
import { configSchema, startDaneOutbound } from "./index";

void runService({ name: "dane-outbound", schema: configSchema, start: startDaneOutbound });
