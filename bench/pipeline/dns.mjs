// The DNS world of `pnpm bench` (bench/pipeline.mjs): one unbound on loopback answering a
// zone set with the records a real sender domain publishes, and NXDOMAIN for every other
// name (no recursion: this machine has no internet, and a benchmark must not wait on it).
//
// Every target that checks SPF asks this same server: Postern's spf and dmarc services
// through their `dns.servers` option, the reference Postfix's SPF policy daemon through a
// private /etc/resolv.conf. resolv.conf cannot carry a port, so as root the server listens
// on port 53 of its own loopback address (127.53.0.1); without root it takes a free port
// (and the Postfix reference is skipped anyway: its master needs root).
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(new URL("../../libs/dns/package.json", import.meta.url));
const packet = require("dns-packet");

export const SENDER_DOMAIN = "bench.test";
export const SENDER = `sender@${SENDER_DOMAIN}`;
export const RECIPIENT = `rcpt@${SENDER_DOMAIN}`;

/**
 * What a typical sending domain publishes: SPF with an mx mechanism and an include of the
 * provider's block (5 queries per check: TXT, MX, A of the MX, TXT of the include, and the
 * include matches 127.0.0.0/8), and a DMARC policy of reject with aggregate reports.
 * The client of every benchmark is 127.0.0.1, so SPF passes at the include and DMARC passes
 * through aligned SPF; nothing is rejected and every target does the same work per message.
 */
export const ZONE_DATA = [
  `${SENDER_DOMAIN}. 3600 IN SOA ns1.${SENDER_DOMAIN}. hostmaster.${SENDER_DOMAIN}. 1 3600 900 604800 300`,
  `${SENDER_DOMAIN}. 3600 IN NS ns1.${SENDER_DOMAIN}.`,
  `ns1.${SENDER_DOMAIN}. 3600 IN A 192.0.2.53`,
  `${SENDER_DOMAIN}. 3600 IN MX 10 mx1.${SENDER_DOMAIN}.`,
  `${SENDER_DOMAIN}. 3600 IN MX 20 mx2.${SENDER_DOMAIN}.`,
  `mx1.${SENDER_DOMAIN}. 3600 IN A 192.0.2.25`,
  `mx2.${SENDER_DOMAIN}. 3600 IN A 192.0.2.26`,
  `mx2.${SENDER_DOMAIN}. 3600 IN AAAA 2001:db8::26`,
  `${SENDER_DOMAIN}. 3600 IN TXT "v=spf1 mx include:_spf.provider.${SENDER_DOMAIN} -all"`,
  `_spf.provider.${SENDER_DOMAIN}. 3600 IN TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:25::/48 ip4:127.0.0.0/8 ~all"`,
  `_dmarc.${SENDER_DOMAIN}. 3600 IN TXT "v=DMARC1; p=reject; adkim=r; aspf=r; rua=mailto:dmarc-rua@${SENDER_DOMAIN}"`,
  `${SENDER_DOMAIN}. 3600 IN TXT "google-site-verification=bench-padding-record-0123456789abcdef"`,
  `selector1._domainkey.${SENDER_DOMAIN}. 3600 IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="`,
];

const unboundConf = (dir, address, port) => `server:
  interface: ${address}@${port}
  port: ${port}
  do-ip6: no
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  use-syslog: no
  logfile: "${dir}/unbound.log"
  verbosity: 0
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  do-not-query-localhost: yes
  local-zone: "." static
  local-zone: "${SENDER_DOMAIN}." static
${ZONE_DATA.map((rr) => `  local-data: '${rr}'`).join("\n")}
remote-control:
  control-enable: no
`;

function query(address, port, name, type) {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no DNS answer from ${address}:${port}`));
    }, 500);
    socket.once("message", (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(packet.decode(msg));
    });
    socket.send(packet.encode({ type: "query", id: 1, flags: packet.RECURSION_DESIRED, questions: [{ type, name }] }), port, address);
  });
}

/**
 * Starts unbound with the zone set. Resolves when it answers the SPF record.
 * Returns { address, port, server ("ip:port" for dns.servers), pid, stop() }.
 */
export async function startBenchDns(dir, { freePort }) {
  mkdirSync(dir, { recursive: true });
  const root = process.getuid?.() === 0;
  // several benchmarks may run at once (each its own address on port 53): the next address when one is taken
  for (let attempt = 1; ; attempt++) {
    const address = root ? `127.53.0.${attempt}` : "127.0.0.1";
    const port = root ? 53 : await freePort();
    try {
      return await startUnbound(dir, address, port);
    } catch (err) {
      if (attempt >= 20 || !/exited at start/.test(err.message)) throw err;
    }
  }
}

async function startUnbound(dir, address, port) {
  const conf = join(dir, "unbound.conf");
  writeFileSync(conf, unboundConf(dir, address, port));
  const out = openSync(join(dir, "unbound.out"), "a");
  const child = spawn("/usr/sbin/unbound", ["-d", "-c", conf], { stdio: ["ignore", out, out] });
  const exited = new Promise((r) => child.once("exit", r));
  const why = () => ["unbound.out", "unbound.log"].map((f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "")).join("\n").slice(-2000);
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`unbound exited at start:\n${why()}`);
    try {
      const answer = await query(address, port, SENDER_DOMAIN, "TXT");
      if (answer.answers.some((a) => a.type === "TXT")) break;
    } catch (err) {
      if (i > 50) {
        child.kill("SIGKILL");
        throw new Error(`unbound on ${address}:${port} does not answer: ${err.message}\n${why()}`);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    port,
    server: `${address}:${port}`,
    pid: child.pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
