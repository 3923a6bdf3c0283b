import { nativeObjectDigests } from "@postern/bus";
import { runService } from "@postern/service-kit";
import { configSchema, startDaneOutbound } from "./index";

// Message bodies come from the spool; their digest check runs on node:crypto (see nativeObjectDigests).
nativeObjectDigests();
void runService({ name: "dane-outbound", schema: configSchema, start: startDaneOutbound });
