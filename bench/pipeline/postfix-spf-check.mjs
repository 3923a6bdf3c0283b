// Self-check of the "Postfix + SPF policy service → discard" reference (postfix-spf.mjs), run
// by hand as root: node bench/pipeline/postfix-spf-check.mjs
//   1. with dns.mjs's unbound, one message from sender@bench.test (client 127.0.0.1): the maillog
//      must show policyd-spf's Received-SPF: Pass header for it (made visible by a
//      header_checks INFO rule, this run only) and its delivery to discard:;
//   2. one message from a domain that does not exist (NXDOMAIN): Received-SPF: None, delivered;
//      (a -all Fail case would need a record excluding 127.0.0.1, which dns.mjs's zone lacks);
//   3. a clean instance (no header_checks, exactly what pnpm bench measures): smtp-source,
//      20 sessions, 1 KB and 100 KB messages, msgs/s; the same against the plain reference
//      Postfix (bench/edge/postfix.mjs) for comparison; the processes seen under master;
//   4. after stop: no master, smtpd or policyd-spf of these instances is left.
// Options (env): CHECK_MESSAGES (1 KB runs, default 2000), CHECK_LARGE_MESSAGES (100 KB runs,
// default 300), CHECK_KEEP=1 (keep the work dir with the maillogs).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postfixToolsMissing, runSource, sleep, startReferencePostfix } from "../edge/postfix.mjs";
import { startBenchDns } from "./dns.mjs";
import { referencePostfixSpfUnavailable, startReferencePostfixSpf } from "./postfix-spf.mjs";

const require = createRequire(new URL("../../services/edge/package.json", import.meta.url));
const { freePort } = require("@postern/testing");

const MESSAGES = Number(process.env.CHECK_MESSAGES ?? "2000");
const LARGE = Number(process.env.CHECK_LARGE_MESSAGES ?? "300");
const SESSIONS = 20;

const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

/** Waits until `re` matches the maillog (returns the match) or `ms` pass (undefined). */
async function waitLog(file, re, ms = 20_000) {
  for (const end = Date.now() + ms; ; await sleep(200)) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      // not written yet
    }
    const m = text.match(re);
    if (m || Date.now() > end) return m ?? undefined;
  }
}

const comm = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
};

/** Processes of an instance still alive: its master, smtpd on its port, policyd-spf with its config. */
function leftovers(dir, port, master) {
  const found = [];
  for (const pattern of [`smtpd -n 127.0.0.1:${port} `, `policyd-spf ${dir}`]) {
    try {
      found.push(...execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).trim().split("\n"));
    } catch {
      // pgrep exits 1 when nothing matches
    }
  }
  if (master && comm(master) === "master") found.push(String(master));
  return found;
}

async function main() {
  const why = postfixToolsMissing() ?? referencePostfixSpfUnavailable();
  if (why) {
    console.log(`skipped: ${why}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), "postern-postfix-spf-"));
  chmodSync(work, 0o755); // Postfix's daemons and policyd-spf run as their own users and read files in here
  const stops = [];
  try {
    const dns = await startBenchDns(join(work, "dns"), { freePort });
    stops.push(() => dns.stop());
    console.log(`unbound on ${dns.server}`);

    // 1 + 2: the verdicts, made visible in the maillog
    const verifyDir = join(work, "verify");
    const headerChecks = join(work, "header_checks");
    writeFileSync(headerChecks, "/^Received-SPF:/ INFO\n");
    const port1 = await freePort();
    const ref = await startReferencePostfixSpf(verifyDir, port1, { resolver: dns.address, mainCf: [`header_checks = regexp:${headerChecks}`] });
    stops.push(() => ref.stop()); // on failure; stopping twice is harmless
    const master1 = ref.pids()[0];
    console.log(`Postfix ${ref.version} + postfix-policyd-spf-python ${ref.policydVersion} on 127.0.0.1:${port1} (master ${master1})`);
    const log = join(verifyDir, "maillog");

    await runSource(port1, { messages: 1, sessions: 1, size: 1024 });
    const pass = await waitLog(log, /cleanup\[\d+\]: ([0-9A-F]+): info: header Received-SPF: Pass \(mailfrom\) identity=mailfrom; client-ip=127\.0\.0\.1;[^\n]*envelope-from=sender@bench\.test;[^\n]*/);
    check(pass, "policyd-spf: Pass for sender@bench.test from 127.0.0.1");
    if (pass) {
      console.log(`     ${pass[0]}`);
      const sent = await waitLog(log, new RegExp(`discard\\[\\d+\\]: ${pass[1]}: to=<rcpt@bench\\.test>[^\\n]*status=sent[^\\n]*`));
      check(sent, "that message was delivered to discard:");
      if (sent) console.log(`     ${sent[0]}`);
    }

    await runSource(port1, { messages: 1, sessions: 1, size: 1024, from: "sender@no-such-domain.test" });
    const none = await waitLog(log, /cleanup\[\d+\]: ([0-9A-F]+): info: header Received-SPF: None \(mailfrom\) identity=mailfrom; client-ip=127\.0\.0\.1;[^\n]*envelope-from=sender@no-such-domain\.test;[^\n]*/);
    check(none, "policyd-spf: None for sender@no-such-domain.test (NXDOMAIN)");
    if (none) {
      console.log(`     ${none[0]}`);
      const sent = await waitLog(log, new RegExp(`discard\\[\\d+\\]: ${none[1]}: to=<rcpt@bench\\.test>[^\\n]*status=sent[^\\n]*`));
      check(sent, "that message was delivered to discard:");
    }
    const names1 = ref.pids().map(comm);
    check(names1.includes("policyd-spf"), `policyd-spf runs under master (${[...new Set(names1)].join(", ")})`);
    await ref.stop();
    await sleep(500);
    const left1 = leftovers(verifyDir, port1, master1);
    check(left1.length === 0, `after stop, nothing of the verification instance is left (${left1.join(" ") || "none"})`);

    // 3: rates, the clean reference against the plain one
    const rates = [];
    for (const variant of ["postfix+spf", "postfix"]) {
      const dir = join(work, variant);
      const port = await freePort();
      const pf = variant === "postfix" ? await startReferencePostfix(dir, port) : await startReferencePostfixSpf(dir, port, { resolver: dns.address });
      stops.push(() => pf.stop());
      const master = variant === "postfix" ? pf.masterPid() : pf.pids()[0];
      const seen = new Map(); // pid → comm, sampled during the runs
      const sampler = setInterval(() => {
        if (!pf.pids) return;
        for (const pid of pf.pids()) if (!seen.has(pid)) seen.set(pid, comm(pid));
      }, 250);
      try {
        for (const [size, messages] of [
          [1024, MESSAGES],
          [100 * 1024, LARGE],
        ]) {
          const r = await runSource(port, { messages, sessions: SESSIONS, size });
          rates.push({ variant, size, messages, ...r });
          console.log(`${variant.padEnd(12)} ${String(size / 1024).padStart(3)} KB  ${String(messages).padStart(5)} msgs  ${r.seconds.toFixed(1).padStart(6)} s  ${r.perSecond.toFixed(0).padStart(5)} msgs/s`);
        }
        let delivered = 0;
        for (const end = Date.now() + 60_000; delivered < MESSAGES + LARGE && Date.now() < end; await sleep(500)) {
          delivered = (readFileSync(join(dir, "maillog"), "utf8").match(/\/discard\[\d+\]: [0-9A-F]+: to=<[^\n]*status=sent/g) ?? []).length;
        }
        check(delivered === MESSAGES + LARGE, `${variant}: ${delivered} of ${MESSAGES + LARGE} messages delivered to discard:`);
      } finally {
        clearInterval(sampler);
        await pf.stop();
      }
      if (variant !== "postfix") {
        const counts = {};
        for (const name of seen.values()) counts[name] = (counts[name] ?? 0) + 1;
        console.log(`     processes seen under master during the runs: ${Object.entries(counts).map(([n, c]) => `${n}×${c}`).join(", ")}`);
        check((counts["policyd-spf"] ?? 0) > 0, `${variant}: policyd-spf processes served the run`);
      }
      await sleep(500);
      const left = leftovers(dir, port, master);
      check(left.length === 0, `${variant}: after stop, nothing is left (${left.join(" ") || "none"})`);
    }
    for (const size of [1024, 100 * 1024]) {
      const spf = rates.find((r) => r.variant === "postfix+spf" && r.size === size);
      const plain = rates.find((r) => r.variant === "postfix" && r.size === size);
      console.log(`${size / 1024} KB: postfix+spf / postfix = ${(spf.perSecond / plain.perSecond).toFixed(2)}`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop();
    if (process.env.CHECK_KEEP === "1") console.log(`work dir kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.log(`${failures.length} check(s) failed`);
    process.exitCode = 1;
  } else console.log("all checks passed");
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
