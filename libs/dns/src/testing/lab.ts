/**
 * Test support: a real DNS world on loopback, started from a temp dir and stopped by the
 * test. nsd serves tests/fixtures/dns (example.test signed at start with a fresh ECDSA key,
 * one RRSIG corrupted; the reverse zone unsigned). unbound validates, with the example.test
 * DS as its only trust anchor, and refuses every other name.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseServer } from "../servers";
import { udpQuery } from "../transport";
import { nsdConf } from "./nsd";
import { Daemon, findTool, freePort, run } from "./processes";

export const FIXTURES = join(__dirname, "../../../../tests/fixtures/dns");
const ZONE = "example.test";
const REVERSE = "2.0.192.in-addr.arpa";

export interface DnsLab {
  /** nsd, authoritative only: "127.0.0.1:port". */
  readonly nsd: string;
  /** unbound, validating resolver: "127.0.0.1:port". */
  readonly unbound: string;
  readonly dir: string;
  stop(): Promise<void>;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** Signs example.test, corrupts the RRSIG over bogus.example.test A, returns the DS line. */
async function signZone(dir: string): Promise<string> {
  const keyBase = (await run(findTool("ldns-keygen"), ["-a", "ECDSAP256SHA256", "-k", ZONE], dir)).trim();
  const now = Date.now();
  await run(
    findTool("ldns-signzone"),
    ["-i", stamp(new Date(now - 3600_000)), "-e", stamp(new Date(now + 7 * 86400_000)), "-o", `${ZONE}.`, "-f", `${ZONE}.zone.signed`, `${ZONE}.zone`, keyBase],
    dir,
  );
  const signed = readFileSync(join(dir, `${ZONE}.zone.signed`), "utf8").split("\n");
  const corrupted = signed.map((line) => {
    const f = line.split(/\s+/);
    if (f[0] !== `bogus.${ZONE}.` || f[3] !== "RRSIG" || f[4] !== "A") return line;
    const sig = f[f.length - 1] ?? "";
    return [...f.slice(0, -1), (sig.startsWith("AAAA") ? "BBBB" : "AAAA") + sig.slice(4)].join("\t");
  });
  writeFileSync(join(dir, `${ZONE}.zone.signed`), corrupted.join("\n"));
  return (await run(findTool("ldns-key2ds"), ["-n", "-2", `${keyBase}.key`], dir)).trim();
}

function unboundConf(dir: string, port: number, nsdPort: number, ds: string): string {
  const forward = (zone: string): string => `forward-zone:\n  name: "${zone}."\n  forward-addr: 127.0.0.1@${nsdPort}\n`;
  return `server:
  interface: 127.0.0.1@${port}
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
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor: "${ds}"
  trust-anchor-signaling: no
  qname-minimisation: no
  local-zone: "test." transparent
  local-zone: "${REVERSE}." transparent
  local-zone: "." refuse
remote-control:
  control-enable: no
${forward(ZONE)}${forward(REVERSE)}`;
}

/** Waits until `server` answers a SOA query for example.test, or the daemon dies. */
async function waitReady(daemon: Daemon, label: string): Promise<void> {
  const server = parseServer(label);
  if (server === null) throw new Error(`bad label ${label}`);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!daemon.running) throw new Error(`${daemon.name} exited:\n${daemon.output}`);
    const r = await udpQuery(server, { name: ZONE, type: "SOA" }, 200);
    if (r.kind === "message") return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`${daemon.name} did not answer on ${label}:\n${daemon.output}`);
}

/** Starts nsd and unbound on free loopback ports; the caller must await stop(). */
export async function startDnsLab(): Promise<DnsLab> {
  const dir = mkdtempSync(join(tmpdir(), "postern-dns-"));
  const daemons: Daemon[] = [];
  const stop = async (): Promise<void> => {
    for (const d of daemons.reverse()) await d.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const zone of [ZONE, REVERSE]) copyFileSync(join(FIXTURES, `${zone}.zone`), join(dir, `${zone}.zone`));
    const ds = await signZone(dir);
    const nsdPort = await freePort();
    const zones = [
      { name: ZONE, file: `${ZONE}.zone.signed` },
      { name: REVERSE, file: `${REVERSE}.zone` },
    ];
    writeFileSync(join(dir, "nsd.conf"), nsdConf(dir, nsdPort, zones));
    const nsd = new Daemon("nsd", findTool("nsd"), ["-d", "-c", join(dir, "nsd.conf")], dir);
    daemons.push(nsd);
    await waitReady(nsd, `127.0.0.1:${nsdPort}`);
    const ubPort = await freePort();
    writeFileSync(join(dir, "unbound.conf"), unboundConf(dir, ubPort, nsdPort, ds));
    const unbound = new Daemon("unbound", findTool("unbound"), ["-d", "-c", join(dir, "unbound.conf")], dir);
    daemons.push(unbound);
    await waitReady(unbound, `127.0.0.1:${ubPort}`);
    return { nsd: `127.0.0.1:${nsdPort}`, unbound: `127.0.0.1:${ubPort}`, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
