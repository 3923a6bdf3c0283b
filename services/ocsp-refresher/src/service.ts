import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { attachBus, bucketNames, openKv, queueGroups, subjects } from "@postern/bus";
import { EdgeCallbackClient } from "@postern/proto";
import { clientChannelOptions, clientCredentials, GrpcClientPool, type ServiceContext } from "@postern/service-kit";
import type { OcspRefresherConfig } from "./config";
import { createRefresherMetrics, logEvents } from "./diagnostics";
import { fetchOcsp, type OcspFetcher } from "./fetch";
import { KvMirror } from "./mirror";
import { EdgePusher } from "./outputs";
import { decodeCertRecord, decodeStaple } from "./records";
import { refreshCertificate } from "./refresh";
import { Scheduler } from "./scheduler";
import { handleWatch } from "./watch";

export interface RefresherOptions {
  /** ms since the epoch; tests move it */
  clock?: () => number;
  fetcher?: OcspFetcher;
}

export async function startOcspRefresher(ctx: ServiceContext<OcspRefresherConfig>, opts: RefresherOptions = {}): Promise<void> {
  const settings = ctx.config.ocsp_refresher;
  const clock = opts.clock ?? Date.now;
  const logger = ctx.logger;
  const owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const bus = await attachBus(ctx, ctx.config.nats);
  const certs = await openKv(bus, bucketNames.ocspCerts);
  const staples = await openKv(bus, bucketNames.ocspStaples);

  const stapleMirror = new KvMirror(staples, bucketNames.ocspStaples, decodeStaple, logger);
  // A changed record (a new certificate, a retry time moved) is looked at at once.
  const certMirror = new KvMirror(certs, bucketNames.ocspCerts, decodeCertRecord, logger, () => scheduler.poke());
  const metrics = createRefresherMetrics(
    ctx.metrics,
    () => [...stapleMirror.entries].map(([certId, e]): [string, number] => [certId, Date.parse(e.value.next_update)]),
    clock,
    () => certMirror.size,
  );
  const tls = settings.edge_callback.tls;
  const pool = new GrpcClientPool(EdgeCallbackClient, clientCredentials(tls), clientChannelOptions(tls, settings.edge_callback));
  const pusher = new EdgePusher(pool, settings.edge_callback.deadline_ms, metrics, logger);
  const deps = { bus, certs, staples, settings, owner, clock, fetcher: opts.fetcher ?? fetchOcsp, pusher, metrics, logger };
  const scheduler = new Scheduler({
    mirror: certMirror,
    clock,
    intervalMs: settings.scan_interval_ms,
    concurrency: settings.concurrency,
    refresh: (certId) => refreshCertificate(deps, certId),
    logger,
  });

  await stapleMirror.start();
  await certMirror.start();
  const watchDeps = {
    certs,
    staples,
    clock,
    edgeTtlMs: settings.edge_ttl_seconds * 1000,
    overrideUrl: settings.responder_override_url,
    pusher,
    logger,
    poke: () => scheduler.poke(),
  };
  const sub = bus.nc.subscribe(subjects.ocspWatch, {
    queue: queueGroups.ocsp,
    callback: (err, msg) => {
      if (err === null) void handleWatch(watchDeps, msg.data);
    },
  });
  await bus.nc.flush(); // the server has the subscription before we report ready
  ctx.shutdown.add("ocsp-refresher", async () => {
    sub.unsubscribe();
    await scheduler.stop();
    await Promise.all([certMirror.stop(), stapleMirror.stop()]);
    pool.close();
  });
  scheduler.start();
  logger.info({ event: logEvents.ready, instance: owner, scan_interval_ms: settings.scan_interval_ms, concurrency: settings.concurrency }, "ocsp-refresher ready");
}
