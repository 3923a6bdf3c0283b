import { runService } from "@postern/service-kit";
import { configSchema, startSpf } from "./index";

void runService({ name: "spf", schema: configSchema, start: startSpf });
