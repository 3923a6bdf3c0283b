import { createHash } from "node:crypto";
import { openSpool, streamNames, subjects, codecs } from "@postern/bus";
import { type Backend, startNats } from "@postern/testing";
import { idOf, MailReader, sendPipelined, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("edge: durable acceptance against a real nats-server", () => {
  let nats: Backend;
  let edge: TestEdge;
  let reader: MailReader;

  beforeAll(async () => {
    nats = await startNats();
    edge = await startTestEdge(nats, { message_size_limit: 200_000, recipients_max: 2, spool_inline_max: 65_536 });
    reader = await MailReader.open(nats);
  });

  afterAll(async () => {
    await reader?.close();
    await edge?.stop();
    await nats?.stop();
  });

  it("accepts a pipelined transaction and stores the MAIL record with the body inline", async () => {
    const body = "Subject: hello\r\n\r\nHi there.\r\n..dot line\r\n";
    const replies = await sendPipelined(edge.port, { from: "a@example.org", to: ["user@localhost"], body });
    expect(replies.map((r) => r.slice(0, 3))).toEqual(["250", "250", "250", "354", "250", "221"]);
    expect(replies[0]).toContain("250-PIPELINING\r\n250-SIZE 200000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n");
    expect(replies[4]).toMatch(/^250 2\.0\.0 OK id=[0-9a-z]{9}-[0-9a-z]{13}\r\n$/);
    const id = idOf(replies[4]);

    const record = await reader.record(id);
    expect(record).toMatchObject({ messageId: id, sender: "a@example.org", receivedBy: "edge.test", recipients: [{ address: "user@localhost", index: 0 }] });
    expect(record.client).toMatchObject({ ip: "127.0.0.1", helo: "client.test", protocol: "esmtp", localIp: "127.0.0.1", localPort: edge.port });
    const location = record.body?.location;
    if (location?.$case !== "inline") throw new Error("body not inline");
    const stored = Buffer.from(location.value).toString("latin1");
    expect(stored).toMatch(new RegExp(`^Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby edge\\.test \\(Postern\\) with ESMTP id ${id}\\r\\n\\tfor <user@localhost>;\\r\\n\\t`));
    expect(stored.endsWith("\r\n\r\nHi there.\r\n.dot line\r\n")).toBe(true);
    expect(record.body?.size).toBe(String(location.value.length));
    expect(record.body?.sha256).toBe(sha256(location.value));

    // one Exim-style line, and a msg:received event
    const line = edge.logs.lines.find((l) => typeof l.msg === "string" && l.msg.includes(`id=${id}`));
    expect(line?.msg).toMatch(new RegExp(`^<= a@example\\.org H=client\\.test \\[127\\.0\\.0\\.1\\] P=esmtp S=\\d+ id=${id}$`));
    expect(line).toMatchObject({ event: "msg.received", message_id: id, recipients: ["user@localhost"] });
    const ev = await reader.bus.jsm.streams.getMessage(streamNames.events, { last_by_subj: subjects.event("msg:received") });
    if (ev === null) throw new Error("no msg:received event");
    expect(codecs.event.decode(ev.data)).toMatchObject({ name: "msg:received", messageId: id, senderAddress: "a@example.org", attributes: { client_ip: "127.0.0.1", helo: "client.test" } });
  });

  it("spools a body over spool_inline_max (64 KiB here) in the object store", async () => {
    const body = `Subject: big\r\n\r\n${`${"x".repeat(98)}\r\n`.repeat(1000)}`;
    const replies = await sendPipelined(edge.port, { from: "", to: ["u1@localhost", "u2@localhost"], body });
    expect(replies[5]).toMatch(/^250 2\.0\.0 OK id=/);
    const id = idOf(replies[5]);
    const record = await reader.record(id);
    expect(record.sender).toBe("");
    expect(record.recipients.map((r) => r.address)).toEqual(["u1@localhost", "u2@localhost"]);
    expect(record.body?.location).toEqual({ $case: "spoolObject", value: id });
    const blob = await (await openSpool(reader.bus)).getBlob(id);
    if (blob === null) throw new Error("spool object missing");
    expect(blob.length).toBe(Number(record.body?.size));
    expect(sha256(blob)).toBe(record.body?.sha256);
    expect(Buffer.from(blob).toString("latin1")).not.toContain("\tfor <");
    expect(Buffer.from(blob).toString("latin1").endsWith(body)).toBe(true);
  });

  it("spools a body whose record would not fit the server's max_payload, whatever spool_inline_max says", async () => {
    const roomy = await startTestEdge(nats, { message_size_limit: 4_000_000, spool_inline_max: 4_000_000 });
    try {
      const body = `Subject: bigger than max_payload\r\n\r\n${`${"z".repeat(98)}\r\n`.repeat(12_000)}`;
      const replies = await sendPipelined(roomy.port, { from: "a@example.org", to: ["u1@localhost"], body });
      expect(replies[4]).toMatch(/^250 2\.0\.0 OK id=/);
      const id = idOf(replies[4]);
      const record = await reader.record(id);
      expect(record.body?.location).toEqual({ $case: "spoolObject", value: id });
      const blob = await (await openSpool(reader.bus)).getBlob(id);
      expect(blob?.length).toBe(Number(record.body?.size));
      expect(Buffer.from(blob ?? []).toString("latin1").endsWith(body)).toBe(true);
    } finally {
      await roomy.stop();
    }
  });

  it("carries DSN and SMTPUTF8 parameters into the record", async () => {
    const c = await SmtpTestClient.open(edge.port);
    await c.greet();
    c.send("MAIL FROM:<δ@example.org> SMTPUTF8 RET=HDRS ENVID=e+2B1 BODY=8BITMIME\r\nRCPT TO:<üser@localhost> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2By@example.org\r\nDATA\r\n");
    expect((await c.read(3)).map((r) => r.slice(0, 3))).toEqual(["250", "250", "354"]);
    c.send("Subject: ü\r\n\r\nbody\r\n.\r\n");
    const id = idOf((await c.read())[0]);
    c.close();
    const r = await reader.record(id);
    expect(r).toMatchObject({ sender: "δ@example.org", smtputf8: true, dsnRet: 2, dsnEnvid: "e+1", bodyType: "8BITMIME" });
    expect(r.recipients[0]).toMatchObject({ address: "üser@localhost", notify: ["SUCCESS", "FAILURE"], orcpt: "rfc822;x+y@example.org" });
    const body = r.body?.location?.$case === "inline" ? Buffer.from(r.body.location.value).toString("utf8") : "";
    expect(body).toContain(`with UTF8SMTP id ${id}\r\n\tfor <üser@localhost>;`);
  });

  it("enforces SIZE, the body size limit, bare LF and recipients_max, and keeps the session usable", async () => {
    const c = await SmtpTestClient.open(edge.port);
    expect((await c.greet())[1]?.slice(0, 9)).toBe("250-edge.");
    c.send("MAIL FROM:<a@example.org> SIZE=200001\r\nMAIL FROM:<a@example.org> SIZE=1000\r\n");
    expect((await c.read(2)).map((r) => r.slice(0, 9))).toEqual(["552 5.3.4", "250 2.1.0"]);
    c.send("RCPT TO:<a@localhost>\r\nRCPT TO:<b@localhost>\r\nRCPT TO:<c@localhost>\r\nDATA\r\n");
    expect((await c.read(4)).map((r) => r.slice(0, 9))).toEqual(["250 2.1.5", "250 2.1.5", "452 4.5.3", "354 End d"]);
    c.send(`${"y".repeat(998)}\r\n`.repeat(250) + ".\r\nNOOP\r\n");
    expect((await c.read(2)).map((r) => r.slice(0, 9))).toEqual(["552 5.3.4", "250 2.0.0"]);
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<a@localhost>\r\nDATA\r\n");
    await c.read(3);
    c.send("hello\n.\nMAIL FROM:<evil@example.org>\r\n.\r\nQUIT\r\n");
    expect((await c.read(2)).map((r) => r.slice(0, 9))).toEqual(["550 5.6.0", "221 2.0.0"]);
    await c.closedByServer();
  });

  it("counts messages and connections in /metrics", async () => {
    const res = await fetch(`http://127.0.0.1:${edge.ctx.httpPort}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/postern_edge_messages_total\{result="accepted",service="edge"\} [3-9]/);
    expect(text).toMatch(/postern_edge_messages_total\{result="rejected",service="edge"\} 2/);
    expect(text).toMatch(/postern_edge_connections_total\{service="edge"\} [4-9]/);
    expect(text).toMatch(/postern_edge_recipients_total\{result="limit",service="edge"\} 1/);
  });

  it("answers idle clients with 421 4.4.2 after smtp_timeout_ms, and 421 4.3.2 at shutdown", async () => {
    const other = await startTestEdge(nats, { smtp_timeout_ms: 300 });
    try {
      const idle = await SmtpTestClient.open(other.port);
      expect((await idle.read())[0]).toBe("220 edge.test ESMTP Postern\r\n");
      expect((await idle.read(1, 5000))[0]).toBe("421 4.4.2 edge.test timeout\r\n");
      await idle.closedByServer();

      const c = await SmtpTestClient.open(other.port);
      await c.read();
      c.send("EHLO x\r\n");
      await c.read();
      const stopping = other.stop();
      expect((await c.read())[0]).toBe("421 4.3.2 edge.test Service shutting down, closing connection\r\n");
      await c.closedByServer();
      await stopping;
    } finally {
      await other.stop();
    }
  });
});
