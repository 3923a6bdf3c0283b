/**
 * Test-only servers for dane-outbound: a loopback DNS zone server (UDP+TCP, dns-packet) so
 * route `mx` can be pointed at scripted answers, and a scripted SMTP server that can defer,
 * reject, drop the connection mid-DATA and answer slowly.
 *
 * SECURITY: test-only; listens on loopback.
 */
import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";

export interface ZoneEntry {
  MX?: Array<{ preference: number; exchange: string }>;
  A?: string[];
  AAAA?: string[];
  /** Answer SERVFAIL for every query of this name. */
  servfail?: boolean;
}

export interface DnsZoneServer {
  /** "127.0.0.1:port", for dane_outbound.dns.servers. */
  label: string;
  zone: Map<string, ZoneEntry>;
  close(): Promise<void>;
}

function answer(zone: Map<string, ZoneEntry>, raw: Buffer): Buffer {
  const q = packet.decode(raw);
  const question = q.questions?.[0];
  const name = (question?.name ?? "").toLowerCase().replace(/\.$/, "");
  const entry = zone.get(name);
  const flags = packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE;
  const base = { type: "response" as const, id: q.id ?? 0, questions: q.questions ?? [] };
  if (!entry) {
    // NXDOMAIN (rcode 3) with an SOA for negative caching.
    return packet.encode({ ...base, flags: flags | 3, authorities: [soa()] });
  }
  if (entry.servfail) return packet.encode({ ...base, flags: flags | 2 });
  const answers: packet.Answer[] = [];
  if (question?.type === "MX") for (const mx of entry.MX ?? []) answers.push({ type: "MX", name, ttl: 60, data: mx });
  if (question?.type === "A") for (const a of entry.A ?? []) answers.push({ type: "A", name, ttl: 60, data: a });
  if (question?.type === "AAAA") for (const a of entry.AAAA ?? []) answers.push({ type: "AAAA", name, ttl: 60, data: a });
  return packet.encode({ ...base, flags, answers, authorities: answers.length === 0 ? [soa()] : [] });
}

function soa(): packet.Answer {
  return { type: "SOA", name: "test", ttl: 60, data: { mname: "ns.test", rname: "h.test", serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 1 } };
}

/** A DNS server for `zone` on 127.0.0.1 (UDP and TCP on the same port). */
export async function startDnsZone(zone: Record<string, ZoneEntry>): Promise<DnsZoneServer> {
  const map = new Map(Object.entries(zone).map(([k, v]) => [k.toLowerCase(), v]));
  for (let tries = 0; tries < 20; tries++) {
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    const port = udp.address().port;
    const conns = new Set<net.Socket>();
    const tcp = net.createServer((c) => {
      conns.add(c);
      c.on("close", () => conns.delete(c));
      c.on("error", () => c.destroy());
      let buf = Buffer.alloc(0);
      c.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const raw = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + raw.length);
          const out = answer(map, raw);
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          c.write(Buffer.concat([len, out]));
        }
      });
    });
    const ok = await new Promise<boolean>((r) => {
      tcp.once("error", () => r(false));
      tcp.listen(port, "127.0.0.1", () => r(true));
    });
    if (!ok) {
      udp.close();
      continue;
    }
    udp.on("message", (raw, rinfo) => udp.send(answer(map, raw), rinfo.port, rinfo.address));
    return {
      label: `127.0.0.1:${port}`,
      zone: map,
      close: async () => {
        for (const c of conns) c.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
  throw new Error("no free port for the DNS zone server");
}

/** What the scripted server does with a line: a reply, "" for none, null to hang up; delay in ms before replying. */
export type Script = (line: string) => string | null | { reply: string | null; delayMs: number };

export interface ScriptedServer {
  host: string;
  port: number;
  /** Every command line, and "<DATA ...>" for each message body. */
  seen: string[];
  connections: number;
  close(): Promise<void>;
}

/**
 * A scripted SMTP server. `greeting` null: say nothing. `dropMidData`: hang up as soon as
 * the first body bytes arrive (a connection lost in the middle of DATA).
 */
export async function startScripted(
  opts: { host?: string; port?: number; greeting: string | null; script: Script; dropMidData?: boolean },
): Promise<ScriptedServer> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((s) => {
    connections += 1;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    let buf = "";
    let inData = false;
    let chain = Promise.resolve();
    const respond = (line: string): void => {
      const r = opts.script(line);
      const { reply, delayMs } = r !== null && typeof r === "object" ? r : { reply: r, delayMs: 0 };
      chain = chain.then(async () => {
        if (delayMs > 0) await new Promise((res) => setTimeout(res, delayMs).unref());
        if (reply === null) s.destroy();
        else if (reply && !s.destroyed) s.write(`${reply}\r\n`);
      });
      if (reply?.startsWith("354")) inData = true;
    };
    if (opts.greeting !== null) s.write(`${opts.greeting}\r\n`);
    s.on("data", (chunk: Buffer) => {
      buf += chunk.toString("latin1");
      for (;;) {
        if (inData) {
          if (opts.dropMidData && buf.length > 0) {
            seen.push("<DROPPED IN DATA>");
            s.destroy();
            return;
          }
          // An empty message is "." right after DATA's line end.
          const end = buf.startsWith(".\r\n") ? -2 : buf.indexOf("\r\n.\r\n");
          if (end === -1) return;
          seen.push(`<DATA ${buf.slice(0, Math.max(0, end + 2))}>`);
          buf = buf.slice(end + 5);
          inData = false;
          respond("<END-OF-DATA>");
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        seen.push(line);
        respond(line);
      }
    });
    s.on("error", () => s.destroy());
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((r, j) => {
    server.once("error", j);
    server.listen(opts.port ?? 0, host, () => r());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host,
    port,
    seen,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A plain ESMTP conversation; `over` replaces replies for matching lines. */
export function esmtp(name: string, over: (line: string) => string | null | undefined | { reply: string | null; delayMs: number } = () => undefined): Script {
  return (line) => {
    const o = over(line);
    if (o !== undefined) return o;
    if (line.startsWith("EHLO")) return `250-${name} Hello there\r\n250-PIPELINING\r\n250-DSN\r\n250 SIZE 10000000`;
    if (line.startsWith("HELO")) return `250 ${name}`;
    if (line.startsWith("MAIL") || line.startsWith("RCPT") || line === "RSET") return "250 OK";
    if (line === "DATA") return "354 go ahead";
    if (line === "<END-OF-DATA>") return `250 OK id=${name}-1`;
    if (line === "QUIT") return `221 ${name} closing`;
    return "500 unrecognised";
  };
}
