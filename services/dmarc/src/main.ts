import { nativeObjectDigests } from "@postern/bus";
import { runService } from "@postern/service-kit";
import { configSchema, startDmarc } from "./index";

// Large bodies are read from the spool; their digest check runs on node:crypto (see nativeObjectDigests).
nativeObjectDigests();
void runService({ name: "dmarc", schema: configSchema, start: startDmarc });
