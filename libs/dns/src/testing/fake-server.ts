/**
 * Test support: a scripted DNS server on loopback (UDP and TCP on the same port) for the
 * cases a real server will not produce on demand: wrong IDs, wrong questions, truncation,
 * silence, AD bits, CNAME loops. The script sees every query and decides what to send.
 */
import { type RemoteInfo, type Socket as UdpSocket, createSocket } from "node:dgram";
import { type Server as TcpServer, type Socket, createServer } from "node:net";
import * as packet from "dns-packet";

export interface Received {
  readonly via: "udp" | "tcp";
  readonly raw: Buffer;
  readonly packet: packet.DecodedPacket;
  /** The client's address (UDP) or connection peer (TCP). */
  readonly from: { readonly address: string; readonly port: number };
}

/** Sends raw bytes back to the client (framed for TCP). */
export type Reply = (bytes: Buffer) => void;
export type Script = (query: Received, reply: Reply) => void;

export interface FakeServer {
  /** "127.0.0.1:port" or "[::1]:port". */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly received: Received[];
  close(): Promise<void>;
}

export interface ResponseOptions {
  readonly id?: number;
  readonly rcode?: number;
  readonly flags?: number;
  readonly question?: packet.Question;
  readonly answers?: packet.Answer[];
  readonly authorities?: packet.Answer[];
}

/** A response to `query`, by default echoing its ID and question with NOERROR, RA and RD. */
export function response(query: packet.DecodedPacket, options: ResponseOptions = {}): Buffer {
  const q = query.questions?.[0];
  return packet.encode({
    type: "response",
    id: options.id ?? query.id ?? 0,
    flags: (options.flags ?? packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE) | (options.rcode ?? 0),
    questions: options.question !== undefined ? [options.question] : q !== undefined ? [q] : [],
    answers: options.answers ?? [],
    authorities: options.authorities ?? [],
  });
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(host.includes(":") ? "udp6" : "udp4");
    sock.once("error", reject);
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.removeListener("error", reject);
      resolve(sock);
    });
  });
}

function listenTcp(server: TcpServer, host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => resolve(true));
  });
}

export interface FakeServerOptions {
  /** Loopback address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Write TCP replies in chunks of this many octets, one event-loop turn apart (exercises reassembly). */
  readonly tcpChunk?: number;
}

async function writeChunked(conn: Socket, bytes: Buffer, chunk: number): Promise<void> {
  for (let off = 0; off < bytes.length && !conn.destroyed; off += chunk) {
    conn.write(bytes.subarray(off, off + chunk));
    await new Promise((res) => setImmediate(res));
  }
}

/** Starts UDP and TCP listeners on one free port of `host`; `script` answers both. */
export async function startFakeServer(script: Script, options: FakeServerOptions = {}): Promise<FakeServer> {
  const host = options.host ?? "127.0.0.1";
  const received: Received[] = [];
  const conns = new Set<Socket>();
  for (let tries = 0; tries < 20; tries++) {
    const udp = await bindUdp(host, 0);
    const port = udp.address().port;
    const tcp = createServer((conn) => {
      conns.add(conn);
      conn.on("close", () => conns.delete(conn));
      conn.on("error", () => conn.destroy());
      let pending: Buffer = Buffer.alloc(0);
      conn.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          const raw = pending.subarray(2, 2 + pending.readUInt16BE(0));
          pending = pending.subarray(2 + raw.length);
          const r: Received = { via: "tcp", raw, packet: packet.decode(raw), from: { address: conn.remoteAddress ?? "", port: conn.remotePort ?? 0 } };
          received.push(r);
          script(r, (bytes) => {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(bytes.length);
            if (options.tcpChunk !== undefined) void writeChunked(conn, Buffer.concat([len, bytes]), options.tcpChunk);
            else if (!conn.destroyed) conn.write(Buffer.concat([len, bytes]));
          });
        }
      });
    });
    if (!(await listenTcp(tcp, host, port))) {
      udp.close();
      continue;
    }
    udp.on("message", (raw: Buffer, rinfo: RemoteInfo) => {
      const r: Received = { via: "udp", raw, packet: packet.decode(raw), from: { address: rinfo.address, port: rinfo.port } };
      received.push(r);
      script(r, (bytes) => udp.send(bytes, rinfo.port, rinfo.address));
    });
    const label = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const close = async (): Promise<void> => {
      for (const c of conns) c.destroy();
      await Promise.all([new Promise<void>((res) => udp.close(() => res())), new Promise<void>((res) => tcp.close(() => res()))]);
    };
    return { label, host, port, received, close };
  }
  throw new Error(`no free port on ${host} for the fake DNS server`);
}

/** Sends `bytes` to `to` from a different socket (a different source port): a spoof. */
export async function sendFromElsewhere(host: string, to: { address: string; port: number }, bytes: Buffer): Promise<void> {
  const sock = await bindUdp(host, 0);
  await new Promise<void>((res) => sock.send(bytes, to.port, to.address, () => res()));
  await new Promise<void>((res) => sock.close(() => res()));
}
