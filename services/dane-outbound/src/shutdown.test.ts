import net from "node:net";
import { streamNames } from "@postern/bus";
import { freePort, hasComplete, inlineBody, OutcomesSink, rcpts, startHarness, type Harness } from "./test-harness";

jest.setTimeout(60_000);

/** An SMTP server that takes `delayMs` to answer the end of data; resolves `inData` when the body starts. */
async function slowServer(delayMs: number) {
  let markData: () => void = () => undefined;
  const inData = new Promise<void>((r) => (markData = r));
  const server = net.createServer((s) => {
    let buf = "";
    let data = false;
    s.write("220 slow.test\r\n");
    s.on("error", () => s.destroy());
    s.on("data", (chunk) => {
      buf += chunk.toString("latin1");
      for (;;) {
        if (data) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          buf = buf.slice(end + 5);
          data = false;
          setTimeout(() => s.write("250 2.0.0 slowly queued\r\n"), delayMs);
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (line === "DATA") {
          data = true;
          markData();
          s.write("354 go\r\n");
        } else s.write(line === "QUIT" ? "221 bye\r\n" : line.startsWith("EHLO") ? "250 slow.test\r\n" : "250 ok\r\n");
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, inData, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("dane-outbound shutdown", () => {
  let h: Harness;
  let outcomes: OutcomesSink;

  beforeAll(async () => {
    h = await startHarness();
    outcomes = new OutcomesSink(await freePort());
    await outcomes.start();
  });
  afterAll(async () => {
    await h?.close();
    await outcomes?.stop();
  });

  it("stops pulling but finishes, reports and acks the delivery in flight", async () => {
    const server = await slowServer(1500);
    try {
      const ctx = await h.start({ routes: { "*": `smtp:127.0.0.1:${server.port}` }, delivery_events: { address: outcomes.address } });
      await h.publish({ messageId: "m-inflight", recipients: rcpts("x@slow.test"), body: inlineBody("x\r\n") });
      await server.inData;
      await ctx.shutdown.trigger("test");
      expect(outcomes.of("m-inflight").map((e) => e.name)).toEqual(["msg:delivery", "msg:complete"]);
      expect(hasComplete(outcomes.of("m-inflight"))).toBe(true);
      const info = await h.bus.jsm.streams.info(streamNames.mail);
      expect(info.state.messages).toBe(0);
      expect(h.logs.some((l) => l.event === "consumer.stopped" && l.in_flight === 0)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
