import { codecs, streamNames, subjects } from "@postern/bus";
import { type Event } from "@postern/proto";
import { encodeProxyHeaderV2 } from "@postern/proxy-protocol";
import { type Backend, startNats } from "@postern/testing";
import { ConnectionLimiter } from "./limits";
import { MailReader, sendPipelined, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

const maxReply = "421 4.3.2 Too many concurrent SMTP connections; please try again later\r\n";
const perHostReply = "421 4.3.2 Too many concurrent SMTP connections from this IP address; please try again later\r\n";
const timeoutReply = "421 4.4.2 edge.test timeout\r\n";

describe("ConnectionLimiter", () => {
  test.each([
    // [max, maxPerHost, steps, want]: "+" acquire, "-" release, "+h:ip" / "-h:ip" per host
    [2, 0, ["+", "+", "+", "-", "+"], [true, true, false, null, true]],
    [0, 0, ["+", "+", "+"], [true, true, true]],
    [0, 2, ["+h:a", "+h:a", "+h:a", "+h:b", "-h:a", "+h:a"], [true, true, false, true, null, true]],
    [0, 1, ["+h:a", "-h:a", "-h:a", "+h:a", "+h:a"], [true, null, null, true, false]],
  ])("max=%p per host=%p: %p", (max, maxPerHost, steps, want) => {
    const l = new ConnectionLimiter({ max, maxPerHost });
    const got = steps.map((s) => {
      if (s === "+") return l.acquire();
      if (s === "-") {
        l.release();
        return null;
      }
      const ip = s.slice(3);
      return s.startsWith("+") ? l.acquireHost(ip) : (l.releaseHost(ip), null);
    });
    expect(got).toEqual(want);
  });

  test("releasing never goes below zero and frees the map entry", () => {
    const l = new ConnectionLimiter({ max: 1, maxPerHost: 1 });
    l.release();
    expect(l.acquire()).toBe(true);
    expect(l.acquireHost("192.0.2.1")).toBe(true);
    l.releaseHost("192.0.2.1");
    l.releaseHost("192.0.2.1");
    expect(l.hosts).toBe(0);
    expect(l.total).toBe(1);
  });
});

const proxyHeader = (ip: string, port: number): Buffer =>
  encodeProxyHeaderV2({ family: "TCP4", source: { address: ip, port }, destination: { address: "198.51.100.20", port: 25 } });

describe("edge: smtp_accept_max, smtp_accept_max_per_host, timeouts and connection events", () => {
  let nats: Backend;

  beforeAll(async () => {
    nats = await startNats();
  });

  afterAll(async () => {
    await nats?.stop();
  });

  it("answers 421 4.3.2 over smtp_accept_max and frees the slot on close", async () => {
    const edge = await startTestEdge(nats, { smtp_accept_max: 2 });
    const open: SmtpTestClient[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = await SmtpTestClient.open(edge.port);
        expect((await c.read())[0]).toMatch(/^220 /);
        open.push(c);
      }
      const third = await SmtpTestClient.open(edge.port);
      expect((await third.read())[0]).toBe(maxReply);
      await third.closedByServer();
      expect(edge.logs.lines.find((l) => l.event === "smtp.connection_refused")).toMatchObject({ reason: "max", limit: 2, ip: "127.0.0.1", msg: "Connection from [127.0.0.1] refused: too many connections" });

      // QUIT frees a slot
      expect(await open[0]?.command("QUIT")).toMatch(/^221 /);
      await open[0]?.closedByServer();
      await waitFor(async () => (await metric(edge, "postern_edge_connections_open")) === 1);
      const fourth = await SmtpTestClient.open(edge.port);
      expect((await fourth.read())[0]).toMatch(/^220 /);
      open.push(fourth);
      const text = await (await fetch(`http://127.0.0.1:${edge.ctx.httpPort}/metrics`)).text();
      expect(text).toMatch(/postern_edge_connections_refused_total\{reason="max",service="edge"\} 1/);
    } finally {
      for (const c of open) c.close();
      await edge.stop();
    }
  });

  it("counts smtp_accept_max_per_host by the client address a PROXY header names", async () => {
    const edge = await startTestEdge(nats, { smtp_accept_max_per_host: 2, hosts_proxy: ["127.0.0.1"] });
    const open: SmtpTestClient[] = [];
    const connect = async (ip: string, port: number): Promise<{ c: SmtpTestClient; banner: string }> => {
      const c = await SmtpTestClient.open(edge.port);
      c.send(proxyHeader(ip, port));
      open.push(c);
      return { c, banner: (await c.read())[0] ?? "" };
    };
    try {
      expect((await connect("192.0.2.1", 1001)).banner).toMatch(/^220 /);
      expect((await connect("192.0.2.1", 1002)).banner).toMatch(/^220 /);
      const over = await connect("192.0.2.1", 1003);
      expect(over.banner).toBe(perHostReply);
      await over.c.closedByServer();
      // the load balancer's address is not the host: another client behind it still gets in
      expect((await connect("192.0.2.2", 1004)).banner).toMatch(/^220 /);
      expect(edge.logs.lines.find((l) => l.event === "smtp.connection_refused")).toMatchObject({ reason: "per_host", limit: 2, ip: "192.0.2.1" });

      // closing one of 192.0.2.1's connections lets it in again
      open[0]?.close();
      await waitFor(async () => (await metric(edge, "postern_edge_connections_open")) === 2);
      expect((await connect("192.0.2.1", 1005)).banner).toMatch(/^220 /);
    } finally {
      for (const c of open) c.close();
      await edge.stop();
    }
  });

  it("closes with 421 4.4.2 when a command does not arrive in smtp_command_timeout_ms, however slowly it trickles", async () => {
    const edge = await startTestEdge(nats, { smtp_command_timeout_ms: 1500 });
    try {
      const idle = await SmtpTestClient.open(edge.port);
      await idle.read();
      expect((await idle.read(1, 10_000))[0]).toBe(timeoutReply);
      await idle.closedByServer();

      // a byte every 200 ms keeps the socket busy but never completes a command: the deadline still applies
      const slow = await SmtpTestClient.open(edge.port);
      await slow.read();
      const trickle = setInterval(() => slow.send("N"), 200);
      try {
        expect((await slow.read(1, 10_000))[0]).toBe(timeoutReply);
        await slow.closedByServer();
      } finally {
        clearInterval(trickle);
      }
      const logged = edge.logs.lines.filter((l) => l.event === "smtp.timeout");
      expect(logged).toHaveLength(2);
      expect(logged[0]).toMatchObject({ phase: "command", timeout_ms: 1500, ip: "127.0.0.1", msg: "SMTP command timeout on connection from [127.0.0.1]" });

      // complete commands each restart it: a session slower than the timeout in total but not per command survives
      const c = await SmtpTestClient.open(edge.port);
      await c.greet();
      for (let i = 0; i < 3; i++) {
        await sleep(700);
        expect(await c.command("NOOP")).toBe("250 2.0.0 Ok\r\n");
      }
      c.close();
    } finally {
      await edge.stop();
    }
  });

  it("closes with 421 4.4.2 when message content stops for smtp_data_timeout_ms", async () => {
    const edge = await startTestEdge(nats, { smtp_data_timeout_ms: 1500, smtp_command_timeout_ms: 60_000 });
    try {
      const c = await SmtpTestClient.open(edge.port);
      await c.greet();
      c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<user@localhost>\r\nDATA\r\n");
      expect((await c.read(3)).map((r) => r.slice(0, 3))).toEqual(["250", "250", "354"]);
      // content that keeps coming is not timed out as a whole
      for (let i = 0; i < 4; i++) {
        c.send(`line ${i}\r\n`);
        await sleep(600);
      }
      expect((await c.read(1, 10_000))[0]).toBe(timeoutReply);
      await c.closedByServer();
      expect(edge.logs.lines.find((l) => l.event === "smtp.timeout")).toMatchObject({ phase: "data", timeout_ms: 1500, msg: "SMTP data timeout (message abandoned) on connection from [127.0.0.1]" });
      expect(edge.logs.lines.filter((l) => l.event === "msg.received")).toHaveLength(0);
    } finally {
      await edge.stop();
    }
  });

  it("publishes tcp:connect, smtp:connect, smtp:ehlo and tcp:close into EVENTS", async () => {
    const edge = await startTestEdge(nats);
    const reader = await MailReader.open(nats);
    try {
      const replies = await sendPipelined(edge.port, { from: "a@example.org", to: ["user@localhost"], body: "Subject: e\r\n\r\nx\r\n", helo: "events.test" });
      expect(replies[4]).toMatch(/^250 /);
      const last = async (name: string): Promise<Event> => {
        let got: Event | undefined;
        await waitFor(async () => {
          const m = await reader.bus.jsm.streams.getMessage(streamNames.events, { last_by_subj: subjects.event(name) }).catch(() => null);
          got = m === null ? undefined : codecs.event.decode(m.data);
          return got !== undefined && (name !== "tcp:close" || got.attributes.messages === "1");
        });
        return got as Event;
      };
      expect((await last("tcp:connect")).attributes).toMatchObject({ client_ip: "127.0.0.1", local_ip: "127.0.0.1", local_port: String(edge.port) });
      expect((await last("smtp:connect")).attributes).toMatchObject({ client_ip: "127.0.0.1" });
      expect((await last("smtp:ehlo")).attributes).toEqual({ client_ip: "127.0.0.1", helo: "events.test", verb: "EHLO" });
      const close = await last("tcp:close");
      expect(close.attributes).toMatchObject({ client_ip: "127.0.0.1", messages: "1" });
      expect(Number(close.attributes.duration_ms)).toBeGreaterThanOrEqual(0);
      expect(close.id).not.toBe("");
    } finally {
      await reader.close();
      await edge.stop();
    }
  });

  it("publishes none of them with connection_events: false", async () => {
    const edge = await startTestEdge(nats, { connection_events: false, hostname: "quiet.test" });
    const reader = await MailReader.open(nats);
    try {
      const before = (await reader.bus.jsm.streams.info(streamNames.events)).state.messages;
      const c = await SmtpTestClient.open(edge.port);
      await c.greet("quiet.test");
      expect(await c.command("QUIT")).toMatch(/^221 /);
      await c.closedByServer();
      // a msg:received published after these would be stored after them: use a message as a barrier
      const replies = await sendPipelined(edge.port, { from: "a@example.org", to: ["user@localhost"], body: "x\r\n" });
      expect(replies[4]).toMatch(/^250 /);
      await waitFor(async () => (await reader.bus.jsm.streams.info(streamNames.events)).state.messages > before);
      expect((await reader.bus.jsm.streams.info(streamNames.events)).state.messages).toBe(before + 1);
    } finally {
      await reader.close();
      await edge.stop();
    }
  });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(50);
  }
}

async function metric(edge: TestEdge, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${edge.ctx.httpPort}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, "m").exec(text);
  return Number(m?.[1] ?? NaN);
}
