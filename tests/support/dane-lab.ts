/**
 * Test support: the DANE world of ../shared/labs/dnssec, self-contained and on free ports.
 * tests/fixtures/dane/gen-certs.sh and gen-zones.sh build the certificates and the signed
 * zones in a temp dir; nsd serves them on 127.0.0.1:<free>; unbound validates on
 * 127.0.0.1:<free> with the DS of `test.` as its only trust anchor; one STARTTLS SMTP
 * server per MX host listens on the host's 127.0.1.N (from hosts.txt) and one common free
 * port, presenting that host's certificate chain. Every process is a child of the test and
 * is stopped by it (SIGTERM to that child, never by name).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { nsdConf } from "@postern/dns/testing";
import { freePort } from "@postern/testing";

export const DANE_FIXTURES = resolve(__dirname, "../fixtures/dane");
const execFileP = promisify(execFile);

export interface LabHost {
  name: string;
  ip: string;
  kind: string;
  tlsa: string;
}

export interface SmtpLabServer {
  /** Messages accepted (end of DATA answered 250). */
  readonly delivered: number;
  /** TLS handshakes the server saw complete. */
  readonly handshakes: number;
  /** TCP connections accepted. */
  readonly connections: number;
  close(): Promise<void>;
}

export interface DaneLab {
  /** "127.0.0.1:port" of the validating resolver. */
  resolver: string;
  nsd: string;
  /** The port every SMTP server listens on (at its host's 127.0.1.N). */
  smtpPort: number;
  dir: string;
  hosts: LabHost[];
  servers: Map<string, SmtpLabServer>;
  stop(): Promise<void>;
}

/** The scenario table of tests/fixtures/dane/hosts.txt. */
export function labHosts(): LabHost[] {
  return readFileSync(join(DANE_FIXTURES, "hosts.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const [name = "", ip = "", kind = "", ...tlsa] = l.trim().split(/\s+/);
      return { name, ip, kind, tlsa: tlsa.join(" ") };
    });
}

function findTool(name: string): string {
  for (const dir of [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/sbin"].filter((d) => d !== "")) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not found: install nsd, unbound, ldnsutils and openssl (scripts/bootstrap.sh)`);
}

class Daemon {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<void>;
  constructor(file: string, args: string[], cwd: string) {
    this.child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((ok) => this.child.once("exit", () => ok()));
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Waits until `port` answers a DNS query over UDP (any answer), or the daemon exits. */
async function waitDns(d: Daemon, port: number): Promise<void> {
  // A minimal query for "test. SOA": id 1, RD, one question.
  const q = Buffer.from("000101000001000000000000047465737400000600 01".replace(/ /g, ""), "hex");
  for (let i = 0; i < 200; i++) {
    if (!d.running) throw new Error(`daemon exited:\n${d.output}`);
    const ok = await new Promise<boolean>((res) => {
      const s = createSocket("udp4");
      const t = setTimeout(() => {
        s.close();
        res(false);
      }, 100);
      s.once("message", () => {
        clearTimeout(t);
        s.close();
        res(true);
      });
      s.send(q, port, "127.0.0.1");
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no DNS answer on port ${port}:\n${d.output}`);
}

const ZONES = ["test", "example.test", "broken.test", "bogusds.test", "unsigned.test"];

function unboundConf(dir: string, port: number, nsdPort: number, anchor: string): string {
  // One stub per zone: the delegations name ns.test on port 53, nsd listens elsewhere.
  const stubs = ZONES.map((z) => `stub-zone:\n  name: "${z}."\n  stub-addr: 127.0.0.1@${nsdPort}\n`).join("");
  return `server:
  interface: 127.0.0.1@${port}
  port: ${port}
  do-ip4: yes
  do-ip6: no
  do-daemonize: no
  num-threads: 1
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  val-log-level: 2
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor: "${anchor}"
  trust-anchor-signaling: no
  qname-minimisation: no
  cache-max-ttl: 60
  local-zone: "test." transparent
  local-zone: "." refuse
remote-control:
  control-enable: no
${stubs}`;
}

export interface TlsSmtpOptions {
  host: string;
  port: number;
  /** Private key and certificate chain (PEM). */
  key: string | Buffer;
  cert: string | Buffer;
  /** Offer STARTTLS in EHLO (default true). */
  starttls?: boolean;
  /** The DER OCSP response to staple, asked for at each handshake (undefined: no staple). */
  ocsp?: () => Buffer | undefined;
  name?: string;
}

/** A toy ESMTP server with STARTTLS (like the lab's starttls-smtpd.py): accepts every message and throws it away. */
export async function startTlsSmtpServer(o: TlsSmtpOptions): Promise<SmtpLabServer> {
  const name = o.name ?? "smtp.test";
  const stats = { delivered: 0, handshakes: 0, connections: 0 };
  const sockets = new Set<net.Socket>();
  const secure = tls.createServer({ key: o.key, cert: o.cert, minVersion: "TLSv1.2" }, (s) => {
    stats.handshakes++;
    session(s, true);
  });
  if (o.ocsp) {
    const staple = o.ocsp;
    secure.on("OCSPRequest", (_cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp?: Buffer) => void) => cb(null, staple()));
  }
  secure.on("tlsClientError", () => undefined);

  const session = (sock: net.Socket, isTls: boolean): void => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => sock.destroy());
    let buf = "";
    let inData = false;
    const reply = (text: string): void => {
      if (!sock.destroyed) sock.write(`${text}\r\n`);
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString("latin1");
      let i: number;
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            stats.delivered++;
            reply("250 2.0.0 OK queued");
          }
          continue;
        }
        const verb = line.split(" ")[0]?.toUpperCase() ?? "";
        if (verb === "EHLO") {
          const lines = [`250-${name}`, "250-PIPELINING", ...(o.starttls !== false && !isTls ? ["250-STARTTLS"] : []), "250 8BITMIME"];
          sock.write(`${lines.join("\r\n")}\r\n`);
        } else if (verb === "HELO") reply(`250 ${name}`);
        else if (verb === "STARTTLS" && o.starttls !== false && !isTls) {
          sock.off("data", onData);
          reply("220 2.0.0 Ready to start TLS");
          // The TLS server takes over the raw socket (nothing is buffered: STARTTLS ends a pipeline).
          secure.emit("connection", sock);
          return;
        } else if (verb === "MAIL" || verb === "RCPT" || verb === "RSET" || verb === "NOOP") reply("250 2.1.0 OK");
        else if (verb === "DATA") {
          inData = true;
          reply("354 go ahead");
        } else if (verb === "QUIT") {
          reply("221 2.0.0 bye");
          sock.end();
          return;
        } else reply("502 5.5.2 not implemented");
      }
    };
    sock.on("data", onData);
    if (!isTls) reply(`220 ${name} ESMTP test`);
  };

  const plain = net.createServer((s) => {
    stats.connections++;
    session(s, false);
  });
  await new Promise<void>((ok, fail) => {
    plain.once("error", fail);
    plain.listen(o.port, o.host, () => ok());
  });
  return {
    get delivered() {
      return stats.delivered;
    },
    get handshakes() {
      return stats.handshakes;
    },
    get connections() {
      return stats.connections;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => plain.close(() => ok()));
      secure.close();
    },
  };
}

/** Builds certificates and zones, starts nsd, unbound and one SMTP server per host; the caller must await stop(). */
export async function startDaneLab(): Promise<DaneLab> {
  const dir = mkdtempSync(join(tmpdir(), "postern-dane-lab-"));
  const daemons: Daemon[] = [];
  const servers = new Map<string, SmtpLabServer>();
  const stop = async (): Promise<void> => {
    for (const s of servers.values()) await s.close();
    for (const d of daemons.reverse()) await d.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await execFileP("bash", [join(DANE_FIXTURES, "gen-certs.sh"), join(dir, "certs")]);
    await execFileP("bash", [join(DANE_FIXTURES, "gen-zones.sh"), join(dir, "zones"), join(dir, "certs"), "127.0.0.1"]);
    const nsdPort = await freePort();
    const zones = ZONES.map((z) => ({ name: z, file: `${dir}/zones/${z}.zone.signed` }));
    writeFileSync(join(dir, "nsd.conf"), nsdConf(dir, nsdPort, zones));
    const nsd = new Daemon(findTool("nsd"), ["-d", "-c", join(dir, "nsd.conf")], dir);
    daemons.push(nsd);
    await waitDns(nsd, nsdPort);
    const ubPort = await freePort();
    const anchor = readFileSync(join(dir, "zones/test.anchor"), "utf8").trim().replace(/\s+/g, " ");
    writeFileSync(join(dir, "unbound.conf"), unboundConf(dir, ubPort, nsdPort, anchor));
    const unbound = new Daemon(findTool("unbound"), ["-d", "-c", join(dir, "unbound.conf")], dir);
    daemons.push(unbound);
    await waitDns(unbound, ubPort);
    const hosts = labHosts();
    const smtpPort = await freePort();
    for (const h of hosts) {
      const c = (ext: string): Buffer => readFileSync(join(dir, "certs", `${h.name}.${ext}`));
      servers.set(h.name, await startTlsSmtpServer({ host: h.ip, port: smtpPort, key: c("key"), cert: c("chain.pem"), starttls: !h.name.startsWith("mx-nostarttls."), name: h.name }));
    }
    return { resolver: `127.0.0.1:${ubPort}`, nsd: `127.0.0.1:${nsdPort}`, smtpPort, dir, hosts, servers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
