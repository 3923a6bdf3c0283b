import { connect, type Socket } from "node:net";
import { type Backend, startNats } from "@postern/testing";
import { sendPipelined, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

/**
 * Hostile input against the running edge (the engine's own bounds are in
 * libs/smtp session-malformed.test.ts): a 10 MB command line, NUL bytes, and
 * a pipelined burst far larger than anything the edge should hold. The edge
 * answers in sync, and stops reading from a client that does not read its
 * replies (back-pressure) instead of queueing them.
 */
describe("edge: hostile input", () => {
  let nats: Backend;
  let edge: TestEdge;

  beforeAll(async () => {
    nats = await startNats();
    edge = await startTestEdge(nats);
  });

  afterAll(async () => {
    await edge?.stop();
    await nats?.stop();
  });

  it("answers a 10 MB command line with 500 5.5.2 and stays in sync", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      await c.greet();
      c.send(Buffer.concat([Buffer.from("NOOP "), Buffer.alloc(10 * 1024 * 1024, "x"), Buffer.from("\r\n")]));
      expect((await c.read(1, 60_000))[0]).toBe("500 5.5.2 Error: line too long\r\n");
      expect(await c.command("NOOP")).toBe("250 2.0.0 Ok\r\n");
    } finally {
      c.close();
    }
  }, 90_000);

  it("refuses NUL bytes in commands, takes them as content in a message", async () => {
    const c = await SmtpTestClient.open(edge.port);
    try {
      await c.greet();
      expect(await c.command("MAIL FROM:<a\0b@example.org>")).toBe("500 5.5.2 Error: invalid characters in command\r\n");
      expect(await c.command("\0\0\0")).toMatch(/^500 5\.5\.2 /);
      expect(await c.command("MAIL FROM:<a@example.org>")).toMatch(/^250 /);
    } finally {
      c.close();
    }
    const replies = await sendPipelined(edge.port, { from: "a@example.org", to: ["user@localhost"], body: "Subject: nul\r\n\r\na\0b\r\n" });
    expect(replies[4]).toMatch(/^250 2\.0\.0 OK id=/);
    expect(edge.logs.lines.filter((l) => l.event === "smtp.protocol_error" && l.kind === "bad_bytes").length).toBeGreaterThanOrEqual(2);
  });

  it("refuses a message with a line over message_linelength_limit (500 5.5.2) and stays in sync", async () => {
    const strict = await startTestEdge(nats, { message_linelength_limit: 998 });
    try {
      const long = await sendPipelined(strict.port, { from: "a@example.org", to: ["user@localhost"], body: `Subject: long\r\n\r\n${"w".repeat(1200)}\r\n` });
      expect(long.map((r) => r.slice(0, 9))).toEqual(["250-edge.", "250 2.1.0", "250 2.1.5", "354 End d", "500 5.5.2", "221 2.0.0"]);
      expect(strict.logs.lines.find((l) => l.event === "msg.rejected")).toMatchObject({ reason: "line_length" });
      const fine = await sendPipelined(strict.port, { from: "a@example.org", to: ["user@localhost"], body: `Subject: fine\r\n\r\n${"w".repeat(998)}\r\n` });
      expect(fine[4]).toMatch(/^250 2\.0\.0 OK id=/);
    } finally {
      await strict.stop();
    }
  });

  it("stops reading from a client that pipelines 64 MB of HELP without reading the replies", async () => {
    const socket: Socket = connect({ host: "127.0.0.1", port: edge.port });
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    // a client that reads nothing: pause our side, so the edge's replies back up through both socket buffers
    let banner = "";
    await new Promise<void>((resolve) =>
      socket.once("data", (b: Buffer) => {
        banner = b.toString("latin1");
        resolve();
      }),
    );
    expect(banner).toMatch(/^220 /);
    socket.write("EHLO burst.test\r\n");
    await new Promise((r) => setTimeout(r, 300)); // EHLO must be answered before a group starts
    socket.pause();
    // HELP is pipelinable (RFC 2920) and its reply is ten times its size: the worst amplification a client can get
    const total = 64 * 1024 * 1024;
    const piece = Buffer.alloc(60 * 1024); // a multiple of 6: whole commands
    piece.fill("HELP\r\n");
    // queued in Node; each callback says the kernel took that piece
    let flushed = 0;
    for (let sent = 0; sent < total; sent += piece.length) socket.write(piece, () => (flushed += piece.length));
    // wait until the edge stops taking input
    let last = -1;
    let stable = 0;
    const deadline = Date.now() + 60_000;
    while (stable < 10 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      stable = flushed === last ? stable + 1 : 0;
      last = flushed;
    }
    if (process.env.POSTERN_TEST_VERBOSE) console.log(`burst: ${total - flushed} of ${total} octets never left the client`);
    // the kernel buffers hold a few tens of MB on loopback; without back-pressure the edge would have read it all
    expect(total - flushed).toBeGreaterThan(8 * 1024 * 1024);
    // meanwhile the edge serves others
    const other = await SmtpTestClient.open(edge.port);
    expect((await other.greet())[1]).toMatch(/^250-edge\.test/);
    other.close();
    socket.destroy();
  }, 120_000);
});
