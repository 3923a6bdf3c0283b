import { attachBus } from "@postern/bus";
import type { ServiceContext } from "@postern/service-kit";
import type { SpfConfig } from "./config";

export async function startSpf(ctx: ServiceContext<SpfConfig>): Promise<void> {
  await attachBus(ctx, ctx.config.nats);
  ctx.logger.info("spf ready");
}
