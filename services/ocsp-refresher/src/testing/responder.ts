/**
 * Test-only: a real OpenSSL OCSP responder on 127.0.0.1 for the refresher's tests.
 *
 * A throw-away CA comes from tests/fixtures/ocsp/pki.sh; its leaves name this responder in their
 * AIA. `openssl ocsp -port` runs in a private network namespace (OpenSSL 3.0 binds [::], see
 * ../shared/labs/ocsp/README.md) behind tests/fixtures/ocsp/netns-responder.js, and a small HTTP
 * front on 127.0.0.1 forwards to it. The front can swap the request (an answer for another
 * certificate) or change the answer (a bad signature). Where `unshare --net` is not permitted,
 * or POSTERN_OCSP_RESPONDER=per-request, the front runs `openssl ocsp -reqin/-respout` per request.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const FIXTURES = resolve(__dirname, "../../../../tests/fixtures/ocsp");
const INNER_PORT = 8080;
const run = promisify(execFile);
const opensslEnv = { ...process.env, LEAF_NAME: "unused.ocsp.test" };

export interface ResponderSetup {
  /** signing certificate (default "signer", the long-lived delegated signer; "ca" for the issuer) */
  signer?: string;
  nmin?: number;
  ndays?: number;
  noCerts?: boolean;
}

export interface TestResponder {
  url: string;
  dir: string;
  via: "netns" | "per-request";
  requests: number;
  der(name: string): Buffer;
  /** (re)starts openssl with this signer and validity */
  use(setup: ResponderSetup): Promise<void>;
  /** answer this request instead of the one received (a response for another certificate) */
  swapRequest: Buffer | undefined;
  /** change each answer before it is sent */
  tamper: ((der: Buffer) => Buffer) | undefined;
  /** request bytes for `name` as openssl ocsp builds them */
  requestFor(name: string): Buffer;
  revoke(name: string): Promise<void>;
  /** stops openssl and closes the port: connections are refused from now on */
  stop(): Promise<void>;
  /** stop() and remove the PKI directory */
  close(): Promise<void>;
}

function netnsAllowed(): string | undefined {
  if (process.env.POSTERN_OCSP_RESPONDER === "per-request") return "POSTERN_OCSP_RESPONDER=per-request";
  try {
    execFileSync("unshare", ["--net", "true"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "unshare --net is not permitted";
  }
}

function readBody(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) fail(new Error("body too large"));
      else chunks.push(c);
    });
    stream.on("end", () => ok(Buffer.concat(chunks)));
    stream.on("error", fail);
  });
}

export async function startResponder(): Promise<TestResponder> {
  const dir = mkdtempSync(join(tmpdir(), "postern-ocsp-"));
  const socketPath = join(dir, "r.sock");
  const why = netnsAllowed();
  let child: ChildProcess | undefined;
  let setup: Required<Pick<ResponderSetup, "signer">> & ResponderSetup = { signer: "signer", ndays: 1 };
  let n = 0;

  const opensslArgs = (): string[] => {
    const args = ["ocsp", "-index", join(dir, "index.txt"), "-CA", join(dir, "ca.crt")];
    args.push("-rsigner", join(dir, `${setup.signer}.crt`), "-rkey", join(dir, `${setup.signer}.key`));
    if (setup.nmin !== undefined) args.push("-nmin", String(setup.nmin));
    if (setup.ndays !== undefined) args.push("-ndays", String(setup.ndays));
    if (setup.noCerts === true) args.push("-resp_no_certs");
    return args;
  };

  const backend = async (request: Buffer): Promise<Buffer> => {
    if (why !== undefined) {
      const id = ++n;
      const reqFile = join(dir, `in-${id}.der`);
      const respFile = join(dir, `out-${id}.der`);
      writeFileSync(reqFile, request);
      await run("openssl", [...opensslArgs(), "-reqin", reqFile, "-respout", respFile]);
      return readFileSync(respFile);
    }
    return new Promise<Buffer>((ok, fail) => {
      const req = http.request(
        { socketPath, method: "POST", path: "/", agent: false, headers: { "content-type": "application/ocsp-request", connection: "close" } },
        (res) => void readBody(res, 1 << 20).then(ok, fail),
      );
      req.on("error", fail);
      req.end(request);
    });
  };

  const server = http.createServer((req, res) => {
    readBody(req, 1 << 16)
      .then(async (body) => {
        responder.requests++;
        let der = await backend(responder.swapRequest ?? body);
        if (responder.tamper !== undefined) der = responder.tamper(der);
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
  execFileSync("bash", [join(FIXTURES, "pki.sh"), dir, String(port), "10"], { stdio: ["ignore", "pipe", "pipe"] });

  const stopChild = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((ok) => {
      c.once("exit", () => ok());
      c.kill("SIGTERM");
    });
  };

  const waitReady = async (): Promise<void> => {
    const probe = responder.requestFor("good");
    for (let i = 0; i < 100; i++) {
      try {
        await backend(probe);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error("openssl ocsp did not start");
  };

  const responder: TestResponder = {
    url: `http://127.0.0.1:${port}/`,
    dir,
    via: why === undefined ? "netns" : "per-request",
    requests: 0,
    swapRequest: undefined,
    tamper: undefined,
    der: (name) => Buffer.from(new X509Certificate(readFileSync(join(dir, `${name}.crt`))).raw),
    async use(next) {
      setup = { signer: "signer", ...next };
      if (why !== undefined) return;
      await stopChild();
      const inner = ["ip link set lo up", 'exec "$0" "$@"'].join(" && ");
      const script = join(FIXTURES, "netns-responder.js");
      const args = [socketPath, String(INNER_PORT), String(process.pid), "openssl", ...opensslArgs(), "-port", String(INNER_PORT)];
      child = spawn("unshare", ["--net", "sh", "-c", inner, process.execPath, script, ...args], { stdio: "ignore" });
      await waitReady();
    },
    requestFor(name) {
      const file = join(dir, `req-${name}.der`);
      execFileSync("openssl", ["ocsp", "-issuer", join(dir, "ca.crt"), "-cert", join(dir, `${name}.crt`), "-no_nonce", "-reqout", file]);
      return readFileSync(file);
    },
    async revoke(name) {
      await run("openssl", ["ca", "-batch", "-config", join(dir, "openssl.cnf"), "-revoke", join(dir, `${name}.crt`), "-crl_reason", "keyCompromise"], {
        env: opensslEnv,
      });
      // openssl ocsp notices a changed index.txt before it waits for a connection: one throw-away
      // request makes the next real one see the change (the lab's "reload lag").
      if (why === undefined) await backend(responder.requestFor(name));
    },
    async stop() {
      await stopChild();
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((ok) => server.close(() => ok()));
    },
    async close() {
      await responder.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (why !== undefined) process.stderr.write(`[ocsp-responder] openssl ocsp per request: ${why}\n`);
  await responder.use(setup);
  return responder;
}
