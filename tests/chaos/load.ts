/**
 * The chaos test's two kinds of load.
 *
 * Tracked: our own SMTP sessions (tests/deploy/support.ts's SmtpClient), each message with
 * a unique X-Chaos-Id and Message-ID, recording the edge's queue id from every
 * "250 2.0.0 OK id=..." it gets. smtp-source cannot do this: it says neither which of its
 * messages got a 250 nor their queue ids, and it gives up at the first dropped session.
 *
 * Background: Postfix's smtp-source, restarted whenever it exits (it does at the first
 * error, e.g. when the edge is killed), so that the services are busy with many more
 * sessions than the tracked ones when the kills land. Its messages are not judged.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { SmtpClient, sleep } from "../deploy/support";
import { type Tracked } from "./accounting";

export const SMTP_SOURCE = ["/usr/sbin/smtp-source", "/usr/bin/smtp-source"].find((p) => existsSync(p));

export interface Attempted {
  chaosId: string;
  /** the final reply to DATA, or why there was none */
  final: string;
}

export class TrackedLoad {
  readonly acknowledged: Tracked[] = [];
  readonly unacknowledged: Attempted[] = [];
  private running = true;
  private readonly sessions: Promise<void>[];

  constructor(
    private readonly port: number,
    private readonly round: number,
    sessions: number,
    private readonly domain: string,
  ) {
    this.sessions = Array.from({ length: sessions }, (_, s) => this.session(s));
  }

  private async session(s: number): Promise<void> {
    let n = 0;
    while (this.running) {
      let c: SmtpClient | undefined;
      try {
        c = await SmtpClient.open(this.port);
      } catch {
        // the edge is down or restarting: try again shortly
        await sleep(200);
        continue;
      }
      try {
        while (this.running) {
          const chaosId = `chaos-${this.round}-${s}-${n++}`;
          const body = [`Message-ID: <${chaosId}@chaos.test>`, `X-Chaos-Id: ${chaosId}`, `From: <s${s}@sender.test>`, `To: <rcpt${s}@${this.domain}>`, `Subject: ${chaosId}`, "", `body of ${chaosId}`].join("\r\n");
          let final: string;
          try {
            final = await c.send(`s${s}@sender.test`, `rcpt${s}@${this.domain}`, body);
          } catch (err) {
            this.unacknowledged.push({ chaosId, final: err instanceof Error ? err.message : String(err) });
            break;
          }
          const id = /^250 .*\bid=(\S+)/.exec(final)?.[1];
          if (id !== undefined) this.acknowledged.push({ chaosId, queueId: id });
          else {
            this.unacknowledged.push({ chaosId, final: final || "connection closed" });
            break;
          }
        }
      } finally {
        c.destroy();
      }
      if (this.running) await sleep(50);
    }
  }

  /** Stops after each session's message in flight (they finish or fail by themselves). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.sessions);
  }
}

export class BackgroundLoad {
  private child: ChildProcess | undefined;
  private running = true;
  /** smtp-source runs started (each ends at its first error) */
  runs = 0;
  private readonly loop: Promise<void>;

  constructor(
    private readonly port: number,
    private readonly sessions: number,
    private readonly domain: string,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running && SMTP_SOURCE !== undefined) {
      this.runs++;
      const child = spawn(SMTP_SOURCE, ["-s", String(this.sessions), "-m", "1000000", "-l", "1024", "-f", "bg@sender.test", "-t", `bg@${this.domain}`, `127.0.0.1:${this.port}`], { stdio: "ignore" });
      this.child = child;
      await new Promise<void>((done) => {
        child.once("exit", () => done());
        child.once("error", () => done());
      });
      this.child = undefined;
      if (this.running) await sleep(300);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.child?.kill("SIGKILL");
    await this.loop;
  }
}
