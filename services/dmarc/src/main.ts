import { runService } from "@postern/service-kit";
import { configSchema, startDmarc } from "./index";

void runService({ name: "dmarc", schema: configSchema, start: startDmarc });
