import { type AddressInfo, connect, createServer, type Socket } from "node:net";

/** HTTP/2 frame types the keepalive tests look for (RFC 9113 section 6). */
export const H2_PING = 0x6;
export const H2_GOAWAY = 0x7;
const H2_FLAG_ACK = 0x1;
const H2_PREFACE_BYTES = 24; // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", client to server only

export interface H2Frame {
  /** "up": client to server; "down": server to client */
  dir: "up" | "down";
  type: number;
  flags: number;
}

/**
 * A loopback TCP proxy for tests (not exported from the package) that can play a peer gone without
 * FIN/RST. Until blackhole() it forwards bytes both ways; after it, the connections it holds (and
 * any it accepts meanwhile) drop every byte in both directions and stay open, and a side that closes
 * is not told to the other: what a lost node or a partition looks like to both ends. heal() forwards
 * connections accepted from then on. It also reads the frame headers of the cleartext HTTP/2 passing
 * through (`frames`), so a test can count PINGs and see a GOAWAY.
 */
export interface BlackholeProxy {
  /** "127.0.0.1:port" to dial instead of the target */
  address: string;
  /** connections accepted so far */
  readonly connections: number;
  readonly frames: H2Frame[];
  blackhole(): void;
  heal(): void;
  /** destroys every connection and stops listening */
  close(): Promise<void>;
}

export function countFrames(frames: H2Frame[], dir: H2Frame["dir"], type: number, ack?: boolean): number {
  return frames.filter((f) => f.dir === dir && f.type === type && (ack === undefined || ((f.flags & H2_FLAG_ACK) !== 0) === ack)).length;
}

/** Reads frame headers from a byte stream; payloads are skipped. */
function frameReader(dir: H2Frame["dir"], out: H2Frame[]): (chunk: Buffer) => void {
  let skip = dir === "up" ? H2_PREFACE_BYTES : 0;
  let header = Buffer.alloc(0);
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(9 - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + n)]);
      at += n;
      if (header.length < 9) return;
      out.push({ dir, type: header[3] as number, flags: header[4] as number });
      skip = header.readUIntBE(0, 3);
      header = Buffer.alloc(0);
    }
  };
}

export async function startBlackholeProxy(target: string): Promise<BlackholeProxy> {
  const sep = target.lastIndexOf(":");
  const host = target.slice(0, sep).replace(/^\[|\]$/g, "");
  const port = Number(target.slice(sep + 1));
  const sockets = new Set<Socket>();
  const pairs = new Set<{ dead: boolean }>();
  const frames: H2Frame[] = [];
  let holing = false;
  let connections = 0;

  const server = createServer((client) => {
    connections++;
    const pair = { dead: holing };
    pairs.add(pair);
    const upstream = connect({ host, port });
    const read = { up: frameReader("up", frames), down: frameReader("down", frames) };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined); // a reset is an ordinary end here
      s.on("close", () => sockets.delete(s));
    }
    const forward = (from: Socket, to: Socket, dir: H2Frame["dir"]): void => {
      from.on("data", (chunk: Buffer) => {
        if (pair.dead) return; // dropped on the floor, as a lost packet
        read[dir](chunk);
        to.write(chunk);
      });
      from.on("close", () => {
        if (!pair.dead) to.destroy();
      });
    };
    forward(client, upstream, "up");
    forward(upstream, client, "down");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections;
    },
    frames,
    blackhole() {
      holing = true;
      for (const p of pairs) p.dead = true;
    },
    heal() {
      holing = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
