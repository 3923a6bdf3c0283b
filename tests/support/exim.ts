import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descendantsOf, isAlive } from "./processes";

/**
 * Exim 4 as an SMTP client, prepared the way ../shared/labs/peers/exim.sh does it:
 * Debian's exim4-daemon-heavy .deb (plus the three libraries it needs that a
 * plain Debian 12 lacks) is fetched with `apt-get download` and unpacked with
 * `dpkg -x`, never installed. The binary looks up its system user Debian-exim
 * by name, so it runs under `unshare -m` with copies of /etc/passwd and
 * /etc/group (plus that user) bind-mounted over the real ones; /etc is never
 * written. Needs root (unshare, bind mounts), apt-get with a package cache,
 * dpkg and util-linux.
 *
 * Unlike the lab, no patchelf: the unpacked binary loses its setuid bit (it
 * is started by root, so it needs none), hence it never runs in secure mode
 * and LD_LIBRARY_PATH finds the three libraries even when Exim, running as
 * Debian-exim, re-executes itself; `keep_environment` passes it on.
 */

const PACKAGES = ["exim4-daemon-heavy", "exim4-base", "exim4-config", "libmariadb3", "libidn12", "libspf2-2"];
const EXIM_UID = 64990;

export interface EximInstall {
  version: string;
  /** dpkg -x target */
  root: string;
  binary: string;
  libraryPath: string;
}

/** Why this machine cannot run the lab's Exim, or undefined when it can. */
export function eximUnavailable(): string | undefined {
  if (process.platform !== "linux") return `needs Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return "needs root (unshare -m and bind mounts over /etc/passwd, /etc/group)";
  for (const tool of ["apt-get", "apt-cache", "dpkg", "unshare", "mount"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `needs ${tool} (Debian: apt, dpkg, util-linux, mount)`;
    }
  }
  return undefined;
}

function candidateVersion(): string {
  const candidate = (): { version?: string; policy: string } => {
    const policy = execFileSync("apt-cache", ["policy", "exim4-daemon-heavy"], { encoding: "utf8" });
    const version = /Candidate:\s*(\S+)/.exec(policy)?.[1];
    return { version: version === "(none)" ? undefined : version, policy };
  };
  let found = candidate();
  if (found.version === undefined) {
    // a fresh container has no package lists yet (as the lab's common.sh, update only when needed)
    execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore" });
    found = candidate();
  }
  if (found.version === undefined) throw new Error(`apt has no exim4-daemon-heavy candidate even after apt-get update:\n${found.policy}`);
  return found.version;
}

/**
 * Downloads and unpacks Exim once per version into
 * $POSTERN_EXIM_CACHE (default $TMPDIR/postern-exim-cache)/<version>;
 * later calls reuse it.
 */
export function prepareExim(): EximInstall {
  const version = candidateVersion();
  const base = process.env.POSTERN_EXIM_CACHE ?? join(tmpdir(), "postern-exim-cache");
  const dir = join(base, version.replace(/[^\w.+-]/g, "_"));
  const root = join(dir, "root");
  const install = { version, root, binary: join(root, "usr/sbin/exim4"), libraryPath: `${join(root, "usr/lib/x86_64-linux-gnu")}:${join(root, "usr/lib")}` };
  if (existsSync(join(dir, ".complete"))) {
    chmodSync(dir, 0o755); // Exim re-executes itself as Debian-exim, which must reach the binary
    return install;
  }

  mkdirSync(base, { recursive: true });
  // Unpack into a scratch dir and rename it into place, so a half-done run never looks complete.
  const scratch = mkdtempSync(join(base, ".tmp-"));
  chmodSync(scratch, 0o755); // Exim re-executes itself as Debian-exim, which must reach the binary
  try {
    const debs = join(scratch, "debs");
    mkdirSync(debs);
    try {
      execFileSync("apt-get", ["download", ...PACKAGES], { cwd: debs, stdio: ["ignore", "ignore", "pipe"] });
    } catch (err) {
      throw new Error(`apt-get download ${PACKAGES.join(" ")} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
    const files = readdirSync(debs);
    for (const pkg of PACKAGES) {
      const deb = files.find((f) => f.startsWith(`${pkg}_`) && f.endsWith(".deb"));
      if (deb === undefined) throw new Error(`apt-get download ${pkg} produced no .deb`);
      execFileSync("dpkg", ["-x", join(debs, deb), join(scratch, "root")], { stdio: "ignore" });
    }
    rmSync(debs, { recursive: true, force: true });
    // Without the setuid bit the kernel never puts Exim in secure mode, so LD_LIBRARY_PATH
    // also holds when Exim, having dropped to Debian-exim, re-executes itself (-Mc).
    chmodSync(join(scratch, "root/usr/sbin/exim4"), 0o755);
    writeFileSync(join(scratch, ".complete"), `${version}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(scratch, dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return install;
}

export interface EximClientOptions {
  /** the edge's SMTP port on 127.0.0.1 */
  port: number;
  from: string;
  recipients: string[];
  subject?: string;
  timeoutMs?: number;
}

export type RecipientOutcome = "delivered" | "rejected" | "deferred" | "unknown";

export interface EximClientResult {
  exitCode: number | null;
  mainlog: string;
  stderr: string;
  /** per recipient: the outcome and its main log line */
  outcomes: Record<string, { outcome: RecipientOutcome; line?: string }>;
  workDir: string;
}

function clientConfig(install: EximInstall, dir: string, port: number): string {
  return `# Exim PRDR client (tests/support/exim.ts, after ../shared/labs/peers/exim.sh): everything to 127.0.0.1 port ${port}
primary_hostname = exim-client.lab.test
qualify_domain = lab.test
spool_directory = ${dir}/spool
log_file_path = ${dir}/log/%slog
pid_file_path = ${dir}/exim.pid
exim_path = ${install.binary}
log_selector = +smtp_confirmation +received_recipients +outgoing_port +deliver_time +pipelining +smtp_protocol_error
keep_environment = LD_LIBRARY_PATH
host_lookup = :
rfc1413_hosts = :
daemon_smtp_ports = 0

begin routers
# bounces (for recipients the target rejected) are dropped, so the target sees exactly one message
drop_bounces:
  driver = redirect
  senders = :
  data = :blackhole:

to_target:
  driver = manualroute
  domains = *
  route_list = * 127.0.0.1::${port} byname
  self = send
  transport = remote_prdr

begin transports
remote_prdr:
  driver = smtp
  hosts_try_prdr = *
  allow_localhost
  hosts_avoid_tls = *
  hosts_try_chunking = :
  hosts_try_fastopen = :
  command_timeout = 30s
  final_timeout = 30s

begin retry
* * F,1m,1m
`;
}

/** Pids of live processes running this installation's exim binary. */
export function eximProcesses(install: EximInstall): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) === install.binary && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Kills every process running this installation's exim binary (all started by these tests) and waits until they are gone. */
export async function killEximProcesses(install: EximInstall): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (let pids = eximProcesses(install); pids.length > 0; pids = eximProcesses(install)) {
    killPids(pids);
    if (Date.now() > deadline) throw new Error(`exim processes survive SIGKILL: ${pids.join(", ")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function outcomeOf(mainlog: string, rcpt: string): { outcome: RecipientOutcome; line?: string } {
  const lines = mainlog.split("\n");
  const esc = rcpt.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const find = (marker: string): string | undefined => lines.find((l) => new RegExp(` ${marker} ${esc}( |$)`).test(l));
  const delivered = find("(=>|->)");
  if (delivered !== undefined && / C="2/.test(delivered)) return { outcome: "delivered", line: delivered };
  const rejected = find("\\*\\*");
  if (rejected !== undefined) return { outcome: "rejected", line: rejected };
  const deferred = find("==");
  if (deferred !== undefined) return { outcome: "deferred", line: deferred };
  return { outcome: "unknown", line: delivered };
}

/**
 * `exim -odf` (receive one message on stdin, deliver it in the foreground) with
 * hosts_try_prdr = *, sending to 127.0.0.1:port. Resolves when that Exim has
 * exited; its process group is killed on timeout.
 */
export async function runEximClient(install: EximInstall, opts: EximClientOptions): Promise<EximClientResult> {
  const dir = mkdtempSync(join(tmpdir(), "postern-exim-client-"));
  chmodSync(dir, 0o755); // Exim drops to Debian-exim, which must reach spool/ and log/
  for (const sub of ["spool", "log", "etc"]) mkdirSync(join(dir, sub));
  chownSync(join(dir, "spool"), EXIM_UID, EXIM_UID);
  chownSync(join(dir, "log"), EXIM_UID, EXIM_UID);
  const without = (file: string): string =>
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("Debian-exim:"))
      .join("\n");
  writeFileSync(join(dir, "etc/passwd"), `${without("/etc/passwd")}\nDebian-exim:x:${EXIM_UID}:${EXIM_UID}:exim lab:/nonexistent:/usr/sbin/nologin\n`);
  writeFileSync(join(dir, "etc/group"), `${without("/etc/group")}\nDebian-exim:x:${EXIM_UID}:\n`);
  const conf = join(dir, "exim.conf");
  writeFileSync(conf, clientConfig(install, dir, opts.port));
  const message = `From: ${opts.from}\nTo: ${opts.recipients.join(", ")}\nSubject: ${opts.subject ?? "exim PRDR interop"}\n\n${opts.recipients.length} recipients, sent by Exim with hosts_try_prdr.\n`;

  const script = 'mount --bind "$0/etc/passwd" /etc/passwd && mount --bind "$0/etc/group" /etc/group || exit 97; exec "$@"';
  const args = ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, dir, install.binary, "-C", conf, "-odf", "-oi", "-f", opts.from, ...opts.recipients];
  const child = spawn("unshare", args, {
    detached: true, // own process group, so a timeout kills Exim and whatever it forked
    stdio: ["pipe", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", LD_LIBRARY_PATH: install.libraryPath },
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(message);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      const pid = child.pid;
      if (pid !== undefined) {
        killPids(descendantsOf(pid));
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      reject(new Error(`exim client did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const logFile = join(dir, "log/mainlog");
  const mainlog = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
  const outcomes = Object.fromEntries(opts.recipients.map((r) => [r, outcomeOf(mainlog, r)]));
  return { exitCode, mainlog, stderr, outcomes, workDir: dir };
}
