import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { type Event, EventsClient, SubscribeRequest } from "@postern/proto";
import { runCli } from "@postern/cli";
import { startSmtpSink } from "@postern/testing";
import { sendMail } from "../support/smtp-client";
import { type Stack, startStack } from "../support/stack";

/** Collects events from Events.Subscribe until `count` have arrived. */
function collectEvents(address: string, request: Partial<SubscribeRequest>, count: number): { events: Event[]; done: Promise<Event[]>; cancel(): void } {
  const client = new EventsClient(address, grpc.credentials.createInsecure());
  const events: Event[] = [];
  const stream = client.subscribe(SubscribeRequest.fromPartial(request));
  const done = new Promise<Event[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${events.length}/${count} events: ${JSON.stringify(events.map((e) => e.name))}`)), 20_000);
    stream.on("data", (event: Event) => {
      events.push(event);
      if (events.length >= count) {
        clearTimeout(timer);
        resolve(events);
      }
    });
    stream.on("error", (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) reject(err);
    });
  });
  return {
    events,
    done,
    cancel: () => {
      stream.cancel();
      client.close();
    },
  };
}

describe("walking skeleton: SMTP → JetStream MAIL → dane-outbound → delivery-events → Events.Subscribe", () => {
  let stack: Stack;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;

  beforeAll(async () => {
    sink = await startSmtpSink();
    stack = await startStack({ routes: { "example.net": `smtp:127.0.0.1:${sink.port}` } });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await sink?.stop();
  });

  it("delivers to the Maildir and a next hop, and streams msg:delivery events", async () => {
    // example.net is local because Redis says so: nothing relays by IP in this stack.
    const redis = new Redis(stack.redis.url);
    await redis.sadd("postern:local_domains", "example.net");
    redis.disconnect();

    const subscription = collectEvents(stack.eventsAddress, { names: ["msg:delivery"] }, 2);
    // The subscription is live once the ordered consumer exists; a short pause avoids racing it.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const body = "From: a@example.org\r\nTo: user@localhost\r\nSubject: walking skeleton\r\n\r\nHello from the e2e test.\r\n.leading dot line\r\n";
    const sent = await sendMail({ host: "127.0.0.1", port: stack.smtpPort, from: "a@example.org", to: ["user@localhost", "bob@example.net"], body });
    const id = /id=(\S+)/.exec(sent.final)?.[1];
    expect(sent.final).toMatch(/^250 2\.0\.0 /);
    expect(id).toBeDefined();

    const events = await subscription.done;
    subscription.cancel();
    expect(events.map((e) => e.messageId)).toEqual([id, id]);
    const byDomain = new Map(events.map((e) => [e.deliveryDomain, e]));
    expect(byDomain.get("localhost")).toMatchObject({ name: "msg:delivery", deliveryLocalPart: "user", transportName: "maildir", senderAddress: "a@example.org" });
    expect(byDomain.get("example.net")).toMatchObject({ name: "msg:delivery", deliveryLocalPart: "bob", transportName: "smtp", deliveryIp: "127.0.0.1", deliveryPort: sink.port });
    expect(byDomain.get("example.net")?.deliveryConfirmation).toMatch(/^250/);

    const newDir = join(stack.maildir, "user", "new");
    const files = readdirSync(newDir);
    expect(files).toHaveLength(1);
    const stored = readFileSync(join(newDir, files[0] ?? ""), "utf8");
    expect(stored).toMatch(/^Return-Path: <a@example\.org>\r?\n/);
    expect(stored).toContain("Received: from e2e.test");
    expect(stored).toContain("Hello from the e2e test.\r\n.leading dot line\r\n");

    const [relayed] = await sink.waitForMessages(1);
    expect(relayed?.mailFrom).toBe("a@example.org");
    expect(relayed?.rcptTo).toEqual(["bob@example.net"]);
    expect(relayed?.data.toString("utf8")).toContain("Subject: walking skeleton");

    // The operator's view: `postern events tail` prints the same deliveries from the stream.
    const lines: string[] = [];
    const code = await runCli(["events", "tail", "--server", stack.eventsAddress, "--from-start", "--message-id", id ?? "", "--name", "msg:delivery", "--count", "2", "--timeout", "15"], {
      out: (line) => lines.push(line),
      err: (line) => lines.push(`stderr: ${line}`),
      env: {},
    });
    expect(code).toBe(0);
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.includes(" msg:delivery ") && line.includes(`id=${id}`))).toBe(true);

    // One Exim-style reception line in the edge's log.
    expect(stack.logs.lines.some((l) => typeof l.msg === "string" && l.msg.startsWith("<= a@example.org") && l.msg.includes(`id=${id}`))).toBe(true);
  });

  it("records msg:received and msg:complete for the message as well", async () => {
    const subscription = collectEvents(stack.eventsAddress, { fromStart: true, names: ["msg:received", "msg:complete"] }, 2);
    const events = await subscription.done;
    subscription.cancel();
    expect(new Set(events.map((e) => e.name))).toEqual(new Set(["msg:received", "msg:complete"]));
  });
});
