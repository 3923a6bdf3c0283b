/**
 * DMARC end to end: the edge publishes dmarc.check after DATA, the dmarc
 * service verifies DKIM and evaluates DMARC over an in-memory DNS zone, and
 * the edge acts on the verdict. Reports travel through MAIL and dane-outbound
 * to a Maildir route like any message.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bus, codecs, connectBus, natsConfigSchema, subjects } from "@postern/bus";
import { signMessage } from "@postern/dkim";
import { runAggregateReports } from "@postern/dmarc";
import { createDmarcZone, validateAggregateXml } from "@postern/libdmarc";
import { type MailRecord } from "@postern/proto";
import { pino } from "pino";
import { sendMail } from "../support/smtp-client";
import { type Stack, startStack } from "../support/stack";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");
const dkimRecord = `v=DKIM1; k=ed25519; p=${publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("base64")}`;

const zone = createDmarcZone({
  "_dmarc.reject.e2e.test": { txt: ["v=DMARC1; p=reject; rua=mailto:agg@reports.e2e.test; ruf=mailto:fail@reports.e2e.test; fo=1"] },
  "reject.e2e.test._report._dmarc.reports.e2e.test": { txt: ["v=DMARC1"] },
  "_dmarc.quarantine.e2e.test": { txt: ["v=DMARC1; p=quarantine"] },
  "s1._domainkey.reject.e2e.test": { txt: [dkimRecord] },
  "s1._domainkey.signer.e2e.test": { txt: [dkimRecord] },
});

function message(from: string, subject: string, signer?: string): string {
  const msg = `From: ${from}\r\nTo: user@localhost\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@e2e.test>\r\n\r\nHello.\r\n`;
  return signer === undefined ? msg : signMessage(msg, { domain: signer, selector: "s1", privateKey }) + msg;
}

async function waitForFiles(dir: string, n: number, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    if (files.length >= n) return files.map((f) => readFileSync(join(dir, f), "utf8"));
    if (Date.now() > deadline) throw new Error(`expected ${n} files in ${dir}, have ${files.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("DMARC at the edge with the dmarc service", () => {
  let stack: Stack;
  let bus: Bus;
  const records: MailRecord[] = [];
  const reports = mkdtempSync(join(tmpdir(), "postern-dmarc-reports-"));

  beforeAll(async () => {
    stack = await startStack({
      routes: { "reports.e2e.test": `maildir:${reports}` },
      // SPF stays off: the zone is in-memory and only the dmarc service sees it; DKIM gives alignment
      edge: { spf_enable: false, dmarc: { enable: true } },
      // aggregate rows reach the stream within 20 ms, long before the report job below runs
      dmarc: { authserv_id: "edge.e2e.test", dmarc_enable_forensic: true, dmarc_forensic_sender: "dmarc-failures@edge.e2e.test", reports: { flush_ms: 20 } },
      dmarcDeps: { dns: zone },
    });
    bus = await connectBus(natsConfigSchema.parse({ servers: [stack.nats.url] }), { name: "dmarc-e2e", logger: pino({ level: "silent" }) });
    // MAIL records as published (a plain subscription sees JetStream publishes too)
    bus.nc.subscribe(subjects.mailQueued, {
      callback: (_err, msg) => {
        records.push(codecs.mail.decode(msg.data));
      },
    });
    await bus.nc.flush();
  }, 60_000);

  afterAll(async () => {
    await bus?.drain();
    await stack?.stop();
    rmSync(reports, { recursive: true, force: true });
  });

  const send = (from: string, body: string) => sendMail({ host: "127.0.0.1", port: stack.smtpPort, from, to: ["user@localhost"], body });

  it("p=reject: a message failing DMARC gets 550 5.7.1 at the edge", async () => {
    await expect(send("ceo@signer.e2e.test", message("CEO <ceo@reject.e2e.test>", "spoofed", "signer.e2e.test"))).rejects.toThrow(
      /got "550 5\.7\.1 Message from reject\.e2e\.test failed sender's DMARC policy, REJECT"/,
    );
  }, 30_000);

  it("an aligned DKIM signature passes p=reject and the message carries Authentication-Results", async () => {
    const sent = await send("ceo@reject.e2e.test", message("ceo@reject.e2e.test", "genuine", "reject.e2e.test"));
    expect(sent.final).toMatch(/^250 /);
    const id = /id=(\S+)/.exec(sent.final)?.[1];
    const [stored] = await waitForFiles(join(stack.maildir, "user", "new"), 1);
    expect(stored).toContain("dmarc=pass (p=reject dis=none) header.from=reject.e2e.test");
    expect(records.find((r) => r.messageId === id)).toMatchObject({ dmarcStatus: "accept", quarantine: false });
  }, 30_000);

  it("p=quarantine: accepted and flagged (header and MAIL record field)", async () => {
    const sent = await send("x@elsewhere.e2e.test", message("a@quarantine.e2e.test", "quarantined"));
    expect(sent.final).toMatch(/^250 /);
    const id = /id=(\S+)/.exec(sent.final)?.[1];
    expect(records.find((r) => r.messageId === id)).toMatchObject({ dmarcStatus: "quarantine", quarantine: true });
    const files = await waitForFiles(join(stack.maildir, "user", "new"), 2);
    const stored = files.find((f) => f.includes("Subject: quarantined"));
    expect(stored).toContain("X-Postern-Quarantine: DMARC policy of quarantine.e2e.test (quarantine)");
    expect(stored).toContain("dmarc=fail (p=quarantine dis=quarantine) header.from=quarantine.e2e.test");
    // one log line for the accepted message: its reception line carries the DMARC outcome
    const received = stack.logs.lines.find((l) => l.event === "msg.received" && l.message_id === id);
    expect(received).toMatchObject({ dmarc_status: "quarantine", dmarc_domain: "quarantine.e2e.test" });
  }, 30_000);

  it("a refusal has its own DMARC log line (there is no reception line); accepted messages have none at info", () => {
    const verdicts = stack.logs.lines.filter((l) => l.event === "edge.dmarc_verdict");
    expect(verdicts).toEqual([expect.objectContaining({ status: "reject", used_domain: "reject.e2e.test", refused: 550 })]);
  });

  it("a failure report was queued for the rejected message and reaches the ruf= mailbox", async () => {
    const forensic = records.find((r) => r.sender === "dmarc-failures@edge.e2e.test");
    expect(forensic?.recipients.map((r) => r.address)).toEqual(["fail@reports.e2e.test"]);
    const [report] = await waitForFiles(join(reports, "fail", "new"), 1);
    expect(report).toContain("report-type=feedback-report");
    expect(report).toContain("Feedback-Type: auth-failure");
    expect(report).toContain("Reported-Domain: reject.e2e.test");
    expect(report).toContain("Subject: spoofed");
  }, 30_000);

  it("the aggregate report job produces RFC 9990 XML that validates against the schema, queued to rua=", async () => {
    const out = await runAggregateReports({ bus, dns: zone, mode: "rfc9989", receiver: "edge.e2e.test", orgName: "Postern e2e", email: "dmarc-reports@edge.e2e.test" });
    const report = out.find((o) => o.domain === "reject.e2e.test");
    expect(report?.recipients).toEqual(["agg@reports.e2e.test"]);
    const check = validateAggregateXml(report?.xml ?? "");
    expect(check.output).toMatch(/validates/);
    expect(check.ok).toBe(true);
    expect(report?.xml).toContain("<disposition>reject</disposition>");
    expect(report?.xml).toContain("<disposition>pass</disposition>");
    const [mail] = await waitForFiles(join(reports, "agg", "new"), 1);
    expect(mail).toContain("Subject: Report Domain: reject.e2e.test Submitter: edge.e2e.test");
    expect(mail).toContain("Content-Type: application/gzip");
  }, 30_000);
});
