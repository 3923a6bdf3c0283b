import { runService } from "@postern/service-kit";
import { configSchema, startOcspRefresher } from "./index";

void runService({ name: "ocsp-refresher", schema: configSchema, start: startOcspRefresher });
