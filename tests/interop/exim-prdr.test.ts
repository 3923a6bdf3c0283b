import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type EximClientResult, type EximInstall, eximProcesses, eximUnavailable, killEximProcesses, prepareExim, runEximClient } from "../support/exim";
import { type Stack, startStack } from "../support/stack";

/**
 * Issue 6, "Done when" 2: real Exim 4.96 (Debian's exim4-daemon-heavy, unpacked
 * as ../shared/labs/peers/exim.sh does) sends one message to three recipients
 * through the edge with hosts_try_prdr = *. The edge's per-recipient data policy
 * rejects reject-me@localhost after the data (353 sequence); Exim logs two
 * deliveries and one 5xx rejection, and only the other two recipients get the
 * message (the MAIL record holds exactly them: dane-outbound delivers it to the
 * stack's Maildir).
 *
 * Needs root, unshare/mount (util-linux), dpkg and apt-get with a package cache
 * (see tests/support/exim.ts). Exim connects from 127.0.0.1, which is in the
 * default relay_from_hosts, so the edge skips SPF.
 */
const unavailable = eximUnavailable();
const describeExim = unavailable === undefined ? describe : describe.skip;
if (unavailable !== undefined) console.warn(`interop exim-prdr skipped: ${unavailable}`);

const OK1 = "ok1@localhost";
const REJECT = "reject-me@localhost";
const OK2 = "ok2@localhost";

describeExim("interop: Exim as a PRDR client of the edge", () => {
  let stack: Stack | undefined;
  let exim: EximInstall | undefined;
  let result: EximClientResult;

  beforeAll(async () => {
    exim = prepareExim();
    stack = await startStack({ edge: { prdr_reject_recipients: [REJECT] } });
    result = await runEximClient(exim, { port: stack.smtpPort, from: "sender@lab.test", recipients: [OK1, REJECT, OK2] });
  }, 120_000);

  afterAll(async () => {
    if (exim !== undefined) await killEximProcesses(exim);
    await stack?.stop();
    if (result !== undefined) rmSync(result.workDir, { recursive: true, force: true });
  });

  const context = (): string => `exim exit ${String(result.exitCode)}\n--- mainlog ---\n${result.mainlog}\n--- stderr ---\n${result.stderr}`;

  it("Exim's main log shows two recipients delivered and one rejected with the edge's 5xx", () => {
    const outcomes = Object.fromEntries(Object.entries(result.outcomes).map(([rcpt, o]) => [rcpt, o.outcome]));
    // on a mismatch the diff carries Exim's main log and stderr
    expect({ outcomes, log: context() }).toEqual({ outcomes: { [OK1]: "delivered", [REJECT]: "rejected", [OK2]: "delivered" }, log: context() });
    // Exim says when a rejection came from a PRDR per-recipient reply
    expect(result.outcomes[REJECT]?.line).toMatch(/\*\* reject-me@localhost .*PRDR error after DATA: 550 5\.7\.1 PRDR R=<reject-me@localhost> /);
    // both accepted recipients went in the same delivery (=> for the first, -> for the next), over PRDR
    expect(result.outcomes[OK1]?.line).toMatch(/ => ok1@localhost .* PRDR C="250 2\.1\.5 PRDR R=<ok1@localhost> acceptance\\\\n250 /);
    expect(result.outcomes[OK2]?.line).toMatch(/ -> ok2@localhost .* PRDR C="250 2\.1\.5 PRDR R=<ok2@localhost> acceptance\\\\n250 /);
    // a single SMTP transaction carried all three (one message id on the edge for both deliveries)
    const ids = [OK1, OK2].map((r) => /id=(\S+?)["\s]/.exec(result.outcomes[r]?.line ?? "")?.[1]);
    expect(ids[0]).toBeDefined();
    expect(ids[1]).toBe(ids[0]);
  });

  it("the edge used PRDR: a prdr.recipient reject for reject-me only, and msg.received lists the other two", () => {
    const logs = stack?.logs.lines ?? [];
    const prdr = logs.filter((l) => l.event === "prdr.recipient");
    expect(prdr).toEqual([expect.objectContaining({ recipient: REJECT, verdict: "reject", prdr: true, ip: "127.0.0.1" })]);
    const received = logs.filter((l) => l.event === "msg.received");
    expect(received).toHaveLength(1);
    expect(received[0]?.recipients).toEqual([OK1, OK2]);
    expect(received[0]?.message_id).toBe(prdr[0]?.message_id);
  });

  it("the MAIL record holds exactly ok1 and ok2: only they get the message in the Maildir", async () => {
    const maildir = stack?.maildir ?? "";
    const delivered = (local: string): string[] => {
      const dir = join(maildir, local, "new");
      return existsSync(dir) ? readdirSync(dir) : [];
    };
    const deadline = Date.now() + 20_000;
    while ((delivered("ok1").length === 0 || delivered("ok2").length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const local of ["ok1", "ok2"]) {
      const files = delivered(local);
      expect(files).toHaveLength(1);
      expect(readFileSync(join(maildir, local, "new", files[0] ?? ""), "utf8")).toContain("sent by Exim with hosts_try_prdr");
    }
    expect(existsSync(join(maildir, "reject-me"))).toBe(false);
    expect(readdirSync(maildir).sort()).toEqual(["ok1", "ok2"]);
  }, 30_000);

  it("no Exim process is left running", async () => {
    if (exim === undefined) throw new Error("exim not prepared");
    await new Promise((r) => setTimeout(r, 200));
    const left = eximProcesses(exim);
    await killEximProcesses(exim);
    expect(left).toEqual([]);
  });
});
