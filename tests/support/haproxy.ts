import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@postern/testing";

export interface LabCerts {
  dir: string;
  ca: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** 63 characters, as large as PP2_SUBTYPE_SSL_CN gets */
  clientCn: string;
}

const CLIENT_CN = "pp-lab-client-cert-common-name-0123456789.edge-lab.example.test";

/** A CA, a server certificate for haproxy's TLS frontend and a client certificate (openssl, as the peers lab does). */
export function makeLabCerts(): LabCerts {
  const dir = mkdtempSync(join(tmpdir(), "postern-haproxy-certs-"));
  const run = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=Postern Test CA", "-keyout", "ca.key", "-out", "ca.crt");
  run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=edge-lab.localhost", "-keyout", "server.key", "-out", "server.csr");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:edge-lab.localhost,DNS:localhost,IP:127.0.0.1\n");
  run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-sha256", "-extfile", "server.ext", "-out", "server.crt");
  writeFileSync(join(dir, "server.pem"), Buffer.concat([readFileSync(join(dir, "server.crt")), readFileSync(join(dir, "server.key"))]));
  run("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${CLIENT_CN}`, "-keyout", "client.key", "-out", "client.csr");
  run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "30", "-sha256", "-out", "client.crt");
  return { dir, ca: readFileSync(join(dir, "ca.crt")), clientCert: readFileSync(join(dir, "client.crt")), clientKey: readFileSync(join(dir, "client.key")), clientCn: CLIENT_CN };
}

export interface HaproxyFrontends {
  /** send-proxy (v1) */
  v1: number;
  /** send-proxy-v2 */
  v2: number;
  /** send-proxy-v2 with crc32c, unique-id, authority, ssl */
  v2Options: number;
  /** TLS-terminating, send-proxy-v2-ssl-cn with crc32c, unique-id, authority, ssl-cipher, cert-sig, cert-key */
  tls: number;
  stop(): Promise<void>;
}

const UNIQUE_ID_FORMAT = "edge-lab-unique-id-%ci-%cp-%fi-%fp-0123456789abcdef0123456789abcdef";

async function waitForPort(port: number, deadline: number): Promise<void> {
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not open port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Debian's haproxy in the foreground with the peers lab's four frontends, all forwarding to 127.0.0.1:targetPort. */
export async function startHaproxy(targetPort: number, certs: LabCerts): Promise<HaproxyFrontends> {
  const [v1, v2, v2Options, tls] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const target = `127.0.0.1:${targetPort}`;
  const config = `global
    maxconn 200
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe_v1
    bind 127.0.0.1:${v1}
    default_backend be_v1
backend be_v1
    server edge ${target} send-proxy
frontend fe_v2
    bind 127.0.0.1:${v2}
    default_backend be_v2
backend be_v2
    server edge ${target} send-proxy-v2
frontend fe_v2opt
    bind 127.0.0.1:${v2Options}
    unique-id-format ${UNIQUE_ID_FORMAT}
    default_backend be_v2opt
backend be_v2opt
    server edge ${target} send-proxy-v2 proxy-v2-options crc32c,unique-id,authority,ssl
frontend fe_tls
    bind 127.0.0.1:${tls} ssl crt ${join(certs.dir, "server.pem")} ca-file ${join(certs.dir, "ca.crt")} verify optional alpn smtp,x-edge-lab-alpn
    unique-id-format ${UNIQUE_ID_FORMAT}
    default_backend be_tls
backend be_tls
    server edge ${target} send-proxy-v2-ssl-cn proxy-v2-options crc32c,unique-id,authority,ssl-cipher,cert-sig,cert-key
`;
  const file = join(certs.dir, "haproxy.cfg");
  writeFileSync(file, config);
  const child = spawn("haproxy", ["-db", "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 10_000;
  try {
    for (const port of [v1, v2, v2Options, tls]) {
      if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
      await waitForPort(port, deadline);
    }
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    v1,
    v2,
    v2Options,
    tls,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(certs.dir, { recursive: true, force: true });
    },
  };
}
