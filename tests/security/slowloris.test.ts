/**
 * Slowloris and connection floods against the running edge (issue 14): the
 * limits hold and other clients are not starved. The single mechanisms
 * (per-command and data timeouts, smtp_accept_max, smtp_accept_max_per_host)
 * have their own tests in services/edge/src/limits.test.ts; here they work
 * together against attackers on other loopback addresses (127.0.0.2 ...)
 * while a client on 127.0.0.3 sends mail.
 */
import { connect, type Socket } from "node:net";
import type { z } from "zod";
import { configSchema as edgeSchema, startEdge } from "@postern/edge";
import { runService, type ServiceContext } from "@postern/service-kit";
import { type Backend, freePort, LogSink, startNats } from "@postern/testing";
import { sendMail } from "../support/smtp-client";

const COMMAND_TIMEOUT_MS = 2_000;
const MAX = 12;
const PER_HOST = 4;

let nats: Backend;
let ctx: ServiceContext<unknown> | undefined;
let port = 0;
const logs = new LogSink();
const sockets: Socket[] = [];

beforeAll(async () => {
  nats = await startNats();
  port = await freePort();
  const memory = { storage: "memory" };
  const config = {
    log: { level: "warn" },
    nats: { servers: [nats.url], jetstream: { mail: memory, events: memory, spool: memory, kv: memory } },
    edge: {
      smtp_listen: [`127.0.0.1:${port}`],
      grpc: { listen: "127.0.0.1:0" },
      hostname: "edge.slowloris.test",
      local_domains: ["localhost"],
      // no spf service runs here: its verdicts are not what this test is about
      spf_enable: false,
      smtp_command_timeout_ms: COMMAND_TIMEOUT_MS,
      smtp_data_timeout_ms: COMMAND_TIMEOUT_MS,
      smtp_accept_max: MAX,
      smtp_accept_max_per_host: PER_HOST,
    },
  };
  const run = async <S extends z.ZodType>(schema: S, start: (c: ServiceContext<z.infer<S>>) => Promise<void>): Promise<ServiceContext<unknown>> =>
    runService({ name: "edge", schema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: logs, start });
  ctx = await run(edgeSchema, startEdge);
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await ctx?.shutdown.trigger("test finished");
  await nats?.stop();
}, 60_000);

interface Conn {
  socket: Socket;
  /** everything the edge sent so far */
  text(): string;
  closed: Promise<void>;
}

function open(localAddress: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    sockets.push(socket);
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.once("error", () => undefined);
    socket.once("connect", () => resolve({ socket, text: () => received, closed }));
    socket.once("error", reject);
  });
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends `line` one byte every `everyMs` until the socket closes. */
function trickle(c: Conn, line: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (c.socket.destroyed) return clearInterval(timer);
    c.socket.write(line.charAt(i++ % line.length));
  }, everyMs);
  void c.closed.then(() => clearInterval(timer));
}

const mail = (to = "postmaster@localhost"): ReturnType<typeof sendMail> =>
  sendMail({ host: "127.0.0.1", port, localAddress: "127.0.0.3", from: "sender@example.com", to: [to], body: "Subject: still served\r\n\r\nhello\r\n" });

test("a slowloris from one address gets its per-host share, is cut by the command timeout, and another client is served meanwhile", async () => {
  const attackers = await Promise.all(Array.from({ length: 2 * PER_HOST }, () => open("127.0.0.2")));
  await until("a reply on every attacking connection", () => attackers.every((c) => c.text().length > 0));
  const banners = attackers.filter((c) => c.text().startsWith("220 "));
  const refused = attackers.filter((c) => c.text().startsWith("421 4.3.2"));
  expect([banners.length, refused.length]).toEqual([PER_HOST, PER_HOST]);
  // the admitted ones trickle a command one byte at a time: activity, but never a whole line
  for (const c of banners) trickle(c, "EHLO slow.example.com", 100);

  const sent = await mail();
  expect(sent.final).toMatch(/^250 /);

  // each trickler is cut with 421 4.4.2 however busy it looks
  await Promise.all(banners.map((c) => c.closed));
  for (const c of banners) expect(c.text()).toMatch(/\r\n421 4\.4\.2 [^\r]*timeout\r\n$/);
  // and its slots are free again
  const again = await open("127.0.0.2");
  await until("a banner", () => again.text().includes("\r\n"));
  expect(again.text()).toMatch(/^220 /);
  again.socket.end("QUIT\r\n");
  await again.closed;
  // the edge releases a slot when it sees the close: let it, before the next test counts slots
  await new Promise((r) => setTimeout(r, 300));
}, 60_000);

test("a flood of idle connections from many addresses fills smtp_accept_max; timeouts free the slots and mail flows again", async () => {
  const flood: Conn[] = [];
  // 12 connections, 2 from each of 127.0.0.10 ... 127.0.0.15: under the per-host limit, at the global one
  for (let i = 0; i < MAX; i++) flood.push(await open(`127.0.0.${10 + Math.floor(i / 2)}`));
  await until("banners for the flood", () => flood.every((c) => c.text().startsWith("220 ")));
  const extra = await open("127.0.0.20");
  await until("a reply to the extra connection", () => extra.text().length > 0);
  expect(extra.text()).toMatch(/^421 4\.3\.2 /);
  await extra.closed;

  // idle connections say nothing at all: the command timeout cuts them too
  await Promise.all(flood.map((c) => c.closed));
  for (const c of flood) expect(c.text()).toMatch(/421 4\.4\.2 [^\r]*timeout\r\n$/);
  const sent = await mail();
  expect(sent.final).toMatch(/^250 /);
}, 60_000);

test("a client that stops in the middle of DATA is cut by the data timeout; its slot is released", async () => {
  const c = await open("127.0.0.4");
  await until("banner", () => c.text().startsWith("220 "));
  c.socket.write("EHLO stall.example\r\n");
  await until("EHLO reply", () => /\r\n250 [^\r]*\r\n$/.test(c.text()));
  // PIPELINING: MAIL, RCPT and DATA in one write
  c.socket.write("MAIL FROM:<a@example.com>\r\nRCPT TO:<postmaster@localhost>\r\nDATA\r\n");
  await until("354", () => c.text().includes("\r\n354 "));
  c.socket.write("Subject: half a message\r\n\r\nand then nothing");
  await c.closed;
  expect(c.text()).toMatch(/421 4\.4\.2 [^\r]*timeout\r\n$/);
  const sent = await mail();
  expect(sent.final).toMatch(/^250 /);
}, 60_000);
