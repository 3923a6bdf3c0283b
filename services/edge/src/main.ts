import { runService } from "@postern/service-kit";
import { configSchema, startEdge } from "./index";

void runService({ name: "edge", schema: configSchema, start: startEdge });
