import { attachBus } from "@postern/bus";
import type { ServiceContext } from "@postern/service-kit";
import type { DmarcConfig } from "./config";

export async function startDmarc(ctx: ServiceContext<DmarcConfig>): Promise<void> {
  await attachBus(ctx, ctx.config.nats);
  ctx.logger.info("dmarc ready");
}
