import { runService } from "@postern/service-kit";
import { configSchema, startDeliveryEvents } from "./index";

void runService({ name: "delivery-events", schema: configSchema, start: startDeliveryEvents });
