import { attachBus } from "@postern/bus";
import type { ServiceContext } from "@postern/service-kit";
import type { OcspRefresherConfig } from "./config";

export async function startOcspRefresher(ctx: ServiceContext<OcspRefresherConfig>): Promise<void> {
  await attachBus(ctx, ctx.config.nats);
  ctx.logger.info("ocsp-refresher ready");
}
