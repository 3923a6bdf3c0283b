import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { deliverToHosts, deliveryLogLine, HostMemory, Limiter, outcomeEvent, SessionPool, type DeliveryJob, type SmtpClientOptions } from "@postern/dane-outbound/internal";
import { freePort } from "@postern/testing";
import { type EximInstall, eximUnavailable, killEximProcesses, prepareExim } from "../support/exim";

/**
 * Issue 9, done-when 1 (PRDR): dane-outbound's SMTP client with hosts_try_prdr against a
 * real Exim 4.96 server (the lab's exim.sh server: acl_smtp_data_prdr rejects reject-me@,
 * defers defer-me@, accepts the rest). The per-recipient replies after the 353 become
 * per-recipient outcomes, events and delivery log lines. Exim runs as in tests/support/exim.ts
 * (the .deb unpacked, never installed; unshare -m with a passwd copy that has Debian-exim).
 */
const unavailable = eximUnavailable();
const describeExim = unavailable === undefined ? describe : describe.skip;
if (unavailable !== undefined) console.warn(`interop exim-prdr-server skipped: ${unavailable}`);
const EXIM_UID = 64990;

function serverConf(install: EximInstall, dir: string, port: number): string {
  return `# Exim PRDR server for dane-outbound's client test (after ../shared/labs/peers/exim.sh)
primary_hostname = exim-prdr.lab.test
qualify_domain = lab.test
spool_directory = ${dir}/spool
log_file_path = ${dir}/log/%slog
pid_file_path = ${dir}/exim.pid
exim_path = ${install.binary}
log_selector = +smtp_connection +received_recipients +pipelining
keep_environment = LD_LIBRARY_PATH
host_lookup = :
rfc1413_hosts = :
local_interfaces = 127.0.0.1
daemon_smtp_ports = ${port}
tls_advertise_hosts = :
chunking_advertise_hosts = :
pipelining_advertise_hosts = *
prdr_enable = true
acl_smtp_rcpt = acl_rcpt
acl_smtp_data_prdr = acl_prdr

begin acl
acl_rcpt:
  accept
acl_prdr:
  deny    local_parts = reject-me
          message     = PRDR rejection of <$local_part@$domain> (lab rule)
  defer   local_parts = defer-me
          message     = PRDR temporary failure for <$local_part@$domain> (lab rule)
  accept

begin routers
everything:
  driver = accept
  transport = to_file

begin transports
to_file:
  driver = appendfile
  file = ${dir}/mail/inbox
  user = Debian-exim
  create_file = anywhere
  mode = 0644

begin retry
* * F,1m,1m
`;
}

async function waitPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`Exim did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeExim("interop: dane-outbound's PRDR client against an Exim server", () => {
  let exim: EximInstall | undefined;
  let dir = "";
  let port = 0;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    exim = prepareExim();
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "postern-exim-server-"));
    chmodSync(dir, 0o755);
    for (const sub of ["spool", "log", "etc", "mail"]) mkdirSync(join(dir, sub));
    for (const sub of ["spool", "log", "mail"]) chownSync(join(dir, sub), EXIM_UID, EXIM_UID);
    const without = (file: string): string =>
      readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("Debian-exim:"))
        .join("\n");
    writeFileSync(join(dir, "etc/passwd"), `${without("/etc/passwd")}\nDebian-exim:x:${EXIM_UID}:${EXIM_UID}:exim lab:/nonexistent:/usr/sbin/nologin\n`);
    writeFileSync(join(dir, "etc/group"), `${without("/etc/group")}\nDebian-exim:x:${EXIM_UID}:\n`);
    writeFileSync(join(dir, "exim.conf"), serverConf(exim, dir, port));
    const script = 'mount --bind "$0/etc/passwd" /etc/passwd && mount --bind "$0/etc/group" /etc/group || exit 97; exec "$@"';
    child = spawn("unshare", ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, dir, exim.binary, "-C", join(dir, "exim.conf"), "-bdf", "-odqs"], {
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", LD_LIBRARY_PATH: exim.libraryPath },
    });
    await waitPort(port, 30_000);
  }, 180_000);

  afterAll(async () => {
    if (exim !== undefined) await killEximProcesses(exim);
    child?.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("maps Exim's per-recipient PRDR replies to per-recipient outcomes, events and log lines", async () => {
    const options: SmtpClientOptions = {
      lmtp: false,
      heloName: "outbound.lab.test",
      connectTimeoutMs: 5000,
      commandTimeoutMs: 30_000,
      tls: false,
      tryPrdr: () => true,
      pool: new SessionPool(0, 1),
      hostLimit: new Limiter(0),
      hostMemory: new HostMemory(0),
    };
    const addresses = ["ok1@lab.test", "reject-me@lab.test", "defer-me@lab.test", "ok2@lab.test"];
    const job: DeliveryJob = {
      messageId: "prdr-1",
      sender: "sender@outbound.test",
      body: Buffer.from("From: sender@outbound.test\r\nSubject: PRDR from dane-outbound\r\n\r\nhello\r\n"),
      smtpUtf8: false,
      bodyType: "",
      dsnRet: undefined,
      dsnEnvid: "",
      recipients: addresses.map((address, pos) => ({ pos, address, localPart: address.split("@")[0] ?? "", domain: "lab.test", notify: [] })),
      working: () => undefined,
    };
    const host = { name: "exim-prdr.lab.test", ip: "127.0.0.1", port };
    const results = await deliverToHosts([host], job, options);
    expect(results.map((r) => r.status)).toEqual(["delivered", "failed", "deferred", "delivered"]);
    const errstr = (i: number): string => (results[i]?.status === "delivered" ? "" : (results[i] as { errstr: string }).errstr);
    expect(errstr(1)).toMatch(/^SMTP error from remote mail server after PRDR reply for <reject-me@lab\.test>: 550 PRDR rejection of <reject-me@lab\.test> \(lab rule\)$/);
    expect(results[2]).toMatchObject({ errno: -46 });
    expect(errstr(2)).toMatch(/after PRDR reply for <defer-me@lab\.test>: 450 PRDR temporary failure/);

    const ctx = { messageId: "prdr-1", sender: job.sender, attempt: 1, routerName: "route:*", transportName: "smtp" };
    const events = job.recipients.map((t, i) => outcomeEvent(ctx, t, results[i]!));
    expect(events.map((e) => e.name)).toEqual(["msg:delivery", "msg:fail:delivery", "msg:rcpt:defer", "msg:delivery"]);
    expect(events[0]).toMatchObject({ deliveryIp: "127.0.0.1", deliveryPort: port });
    expect(events[0]?.deliveryConfirmation).toMatch(/^250 /);
    const lines = job.recipients.map((t, i) => deliveryLogLine({ ...ctx, recipient: t.address }, results[i]!));
    expect(lines[0]).toMatch(new RegExp(`^prdr-1 => ok1@lab\\.test R=route:\\* T=smtp H=exim-prdr\\.lab\\.test \\[127\\.0\\.0\\.1\\]:${port} C="250 `));
    expect(lines[1]).toMatch(/^prdr-1 \*\* reject-me@lab\.test .*: SMTP error from remote mail server after PRDR reply for <reject-me@lab\.test>: 550 /);
    expect(lines[2]).toMatch(/^prdr-1 == defer-me@lab\.test .* defer \(-46\): .*450 PRDR temporary failure/);

    // Exim stored the message for the two accepted recipients only.
    const inbox = join(dir, "mail/inbox");
    for (let i = 0; i < 50 && !existsSync(inbox); i++) await new Promise((r) => setTimeout(r, 100));
    const mbox = readFileSync(inbox, "utf8");
    expect(mbox).toContain("Subject: PRDR from dane-outbound");
    const mainlog = readFileSync(join(dir, "log/mainlog"), "utf8");
    expect(mainlog).toMatch(/ PRDR /);
  }, 60_000);
});
