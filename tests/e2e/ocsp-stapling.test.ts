/**
 * Issue 11, Done-when 1: the edge starts with no staple, ocsp-refresher fetches one from a real
 * OpenSSL responder, and `openssl s_client -starttls smtp -status` shows it; after the responder
 * revokes the certificate and the refresh runs, ocsp:revoked is emitted and the edge staples the
 * revoked response instead of the good one (ADR 0005: the current verified staple is served,
 * good or revoked).
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { codecs, connectBus, type Bus, natsConfigSchema, openKv } from "@postern/bus";
import { configSchema as edgeSchema, startEdge } from "@postern/edge";
import { configSchema as ocspSchema, startOcspRefresher } from "@postern/ocsp-refresher";
import { type Event } from "@postern/proto";
import { createLogger, runService, type ServiceContext } from "@postern/service-kit";
import { type Backend, freePort, LogSink, startNats } from "@postern/testing";

const run = promisify(execFile);
const FIXTURES = resolve(__dirname, "../fixtures/ocsp");
const INNER_PORT = 8080;

interface Responder {
  dir: string;
  der(name: string): Buffer;
  revoke(name: string): Promise<void>;
  close(): Promise<void>;
}

async function body(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/**
 * The responder of services/ocsp-refresher's tests (tests/fixtures/ocsp): a pki.sh CA whose
 * leaves name http://127.0.0.1:<port>/ in their AIA, answered by `openssl ocsp -port` inside
 * `unshare --net` (netns-responder.js) behind an HTTP front; where unshare is not permitted,
 * by `openssl ocsp -reqin/-respout` per request.
 */
async function startResponder(): Promise<Responder> {
  const dir = mkdtempSync(join(tmpdir(), "postern-e2e-ocsp-"));
  const socketPath = join(dir, "r.sock");
  let netns = true;
  try {
    execFileSync("unshare", ["--net", "true"], { stdio: "ignore" });
  } catch {
    netns = false;
  }
  const signerArgs = ["ocsp", "-index", join(dir, "index.txt"), "-CA", join(dir, "ca.crt"), "-rsigner", join(dir, "signer.crt"), "-rkey", join(dir, "signer.key"), "-ndays", "1"];
  let n = 0;
  const backend = async (request: Buffer): Promise<Buffer> => {
    if (!netns) {
      const id = ++n;
      writeFileSync(join(dir, `in-${id}.der`), request);
      await run("openssl", [...signerArgs, "-reqin", join(dir, `in-${id}.der`), "-respout", join(dir, `out-${id}.der`)]);
      return readFileSync(join(dir, `out-${id}.der`));
    }
    return new Promise<Buffer>((ok, fail) => {
      const req = http.request({ socketPath, method: "POST", path: "/", agent: false, headers: { "content-type": "application/ocsp-request", connection: "close" } }, (res) => void body(res).then(ok, fail));
      req.on("error", fail);
      req.end(request);
    });
  };
  const server = http.createServer((req, res) => {
    body(req)
      .then(async (b) => {
        const der = await backend(b);
        res.writeHead(200, { "content-type": "application/ocsp-response", "content-length": der.length });
        res.end(der);
      })
      .catch(() => {
        res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  execFileSync("bash", [join(FIXTURES, "pki.sh"), dir, String(port), "10"], { stdio: "ignore" });
  const requestFor = (name: string): Buffer => {
    const file = join(dir, `req-${name}.der`);
    execFileSync("openssl", ["ocsp", "-issuer", join(dir, "ca.crt"), "-cert", join(dir, `${name}.crt`), "-no_nonce", "-reqout", file], { stdio: "ignore" });
    return readFileSync(file);
  };
  let child: ChildProcess | undefined;
  if (netns) {
    const inner = ["ip link set lo up", 'exec "$0" "$@"'].join(" && ");
    const args = [socketPath, String(INNER_PORT), String(process.pid), "openssl", ...signerArgs, "-port", String(INNER_PORT)];
    child = spawn("unshare", ["--net", "sh", "-c", inner, process.execPath, join(FIXTURES, "netns-responder.js"), ...args], { stdio: "ignore" });
    const probe = requestFor("good");
    for (let i = 0; ; i++) {
      try {
        await backend(probe);
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  return {
    dir,
    der: (name) => Buffer.from(new X509Certificate(readFileSync(join(dir, `${name}.crt`))).raw),
    async revoke(name) {
      await run("openssl", ["ca", "-batch", "-config", join(dir, "openssl.cnf"), "-revoke", join(dir, `${name}.crt`), "-crl_reason", "keyCompromise"], { env: { ...process.env, LEAF_NAME: "unused.ocsp.test" } });
      // openssl ocsp sees a changed index.txt only after its next request (the lab's "reload lag")
      if (netns) await backend(requestFor(name));
    },
    async close() {
      const c = child;
      if (c !== undefined && c.exitCode === null && c.signalCode === null) {
        await new Promise<void>((ok) => {
          c.once("exit", () => ok());
          c.kill("SIGTERM");
        });
      }
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** openssl s_client -starttls smtp -status against the edge: its stdout. */
async function sClient(port: number): Promise<string> {
  const child = run("openssl", ["s_client", "-starttls", "smtp", "-status", "-connect", `127.0.0.1:${port}`], { timeout: 10_000 });
  child.child.stdin?.end();
  const { stdout } = await child;
  return stdout;
}

describe("e2e: OCSP stapling (edge + ocsp-refresher + OpenSSL responder)", () => {
  let nats: Backend;
  let responder: Responder;
  let bus: Bus;
  let port: number;
  const logs = new LogSink();
  const contexts: Array<ServiceContext<unknown>> = [];
  const events: Event[] = [];

  beforeAll(async () => {
    nats = await startNats();
    responder = await startResponder();
    const certificate = join(responder.dir, "edge-chain.crt");
    writeFileSync(certificate, readFileSync(join(responder.dir, "good.crt"), "utf8") + readFileSync(join(responder.dir, "ca.crt"), "utf8"));
    bus = await connectBus(natsConfigSchema.parse({ servers: [nats.url] }), { name: "e2e-ocsp", logger: createLogger({ name: "e2e-ocsp", level: "error" }) });
    bus.nc.subscribe("postern.event.ocsp.>", {
      callback: (_e, m) => {
        events.push(codecs.event.decode(m.data));
      },
    });
    port = await freePort();
    const config = {
      log: { level: "info" },
      nats: { servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } },
      edge: {
        smtp_listen: [`127.0.0.1:${port}`],
        grpc: { listen: "127.0.0.1:0" },
        hostname: "edge.e2e.test",
        spf_enable: false,
        tls_certificate: certificate,
        tls_privatekey: join(responder.dir, "good.key"),
        // the refresher starts after the edge: its first announcement goes unheard (core NATS)
        ocsp_announce_interval_ms: 1000,
      },
      ocsp_refresher: { scan_interval_ms: 100, fetch_timeout_ms: 3000, lease_ms: 10_000 },
    };
    const opts = { config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: logs } as const;
    contexts.push(await runService({ ...opts, name: "edge", schema: edgeSchema, start: startEdge }));
  }, 60_000);

  afterAll(async () => {
    for (const ctx of contexts.reverse()) await ctx.shutdown.trigger("test done");
    await bus?.drain();
    await responder?.close();
    await nats?.stop();
  });

  it("staples the good response the refresher fetched, then the revoked one after revocation", async () => {
    const before = await sClient(port);
    expect(before).toContain("OCSP response: no response sent");

    const config = {
      log: { level: "info" },
      nats: { servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } },
      ocsp_refresher: { scan_interval_ms: 100, fetch_timeout_ms: 3000, lease_ms: 10_000 },
    };
    contexts.push(await runService({ config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: logs, name: "ocsp-refresher", schema: ocspSchema, start: startOcspRefresher }));

    const good = await waitFor("a good staple", async () => {
      const out = await sClient(port);
      return /OCSP Response Status: successful/.test(out) && /Cert Status: good/.test(out) ? out : undefined;
    });
    expect(good).toContain("Cert Status: good");

    await responder.revoke("good");
    const certId = createHash("sha256").update(responder.der("good")).digest("hex");
    const certs = await openKv(bus, "ocsp-certs");
    // make it due now (as an operator may): compare-and-set on the record's revision
    await waitFor("record made due", async () => {
      const e = await certs.get(certId);
      if (e === null || e.operation !== "PUT") return undefined;
      const record = JSON.parse(Buffer.from(e.value).toString("utf8")) as Record<string, unknown>;
      try {
        await certs.update(certId, JSON.stringify({ ...record, next_refresh_at: 0 }), e.revision);
        return true;
      } catch {
        return undefined;
      }
    });

    const revokedEvent = await waitFor("ocsp:revoked", () => events.find((e) => e.name === "ocsp:revoked"));
    expect(revokedEvent).toBeDefined();
    const revoked = await waitFor("the revoked staple", async () => {
      const out = await sClient(port);
      return /Cert Status: revoked/.test(out) ? out : undefined;
    });
    expect(revoked).not.toContain("Cert Status: good");
    expect(revoked).toContain("Revocation Reason: keyCompromise");
  }, 90_000);
});
