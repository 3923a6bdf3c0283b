import { randomBytes } from "node:crypto";
import { constants as fsc, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type DeliveryJob, type RcptResult, type Target } from "./types";

/**
 * Local delivery into `<dir>/<local_part>/{tmp,new,cur}` (the Maildir format
 * of qmail's maildir(5)): write to tmp/, fsync, rename into new/, fsync new/.
 * Return-Path and Delivered-To are prepended.
 */

/** Why a local part cannot name a mailbox directory, or undefined when it can. */
export function localPartProblem(localPart: string): string | undefined {
  if (localPart.length === 0) return "empty local part";
  if (localPart.includes("/")) return "local part contains '/'";
  if (localPart.includes("\0")) return "local part contains NUL";
  if (localPart.startsWith(".")) return "local part starts with '.'";
  if (Buffer.byteLength(localPart, "utf8") > 255) return "local part longer than 255 bytes";
  return undefined;
}

let counter = 0;
const HOSTNAME = os.hostname().replace(/\//g, "\\057").replace(/:/g, "\\072");

/** A unique Maildir file name: time.M<usec>P<pid>Q<counter>R<random>.host */
export function maildirFileName(now = Date.now()): string {
  counter = (counter + 1) % 1_000_000_000;
  const usec = Math.floor((performance.now() * 1000) % 1_000_000);
  return `${Math.floor(now / 1000)}.M${usec}P${process.pid}Q${counter}R${randomBytes(8).toString("hex")}.${HOSTNAME}`;
}

/** Headers prepended on local delivery; the line end follows the body's (CRLF when its first line ends so). */
export function deliveryHeaders(sender: string, recipient: string, body: Buffer): Buffer {
  const firstLf = body.indexOf(0x0a);
  const eol = firstLf > 0 && body[firstLf - 1] === 0x0d ? "\r\n" : "\n";
  return Buffer.from(`Return-Path: <${sender}>${eol}Delivered-To: ${recipient}${eol}`, "utf8");
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, fsc.O_RDONLY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function deliverOne(dir: string, job: DeliveryJob, target: Target): Promise<RcptResult> {
  const problem = localPartProblem(target.localPart);
  if (problem !== undefined) return { status: "failed", errno: 0, errstr: `invalid local part for maildir delivery: ${problem}` };
  const mailbox = path.join(dir, target.localPart);
  // Belt and braces: the checks above already keep the mailbox one level inside dir.
  if (path.relative(path.resolve(dir), path.resolve(mailbox)) !== target.localPart) {
    return { status: "failed", errno: 0, errstr: "invalid local part for maildir delivery: escapes the directory" };
  }
  try {
    await Promise.all(["tmp", "new", "cur"].map((d) => fs.mkdir(path.join(mailbox, d), { recursive: true, mode: 0o700 })));
    const name = maildirFileName();
    const tmp = path.join(mailbox, "tmp", name);
    const final = path.join(mailbox, "new", name);
    const h = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      await h.writeFile(Buffer.concat([deliveryHeaders(job.sender, target.address, job.body), job.body]));
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, final);
    await fsyncDir(path.join(mailbox, "new"));
    return { status: "delivered", confirmation: final };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const errno = typeof e.errno === "number" ? Math.abs(e.errno) : 0;
    return { status: "deferred", errno, errstr: `maildir delivery failed: ${e.code ?? ""} ${e.message}`.trim() };
  }
}

/** Delivers to every recipient of the job in turn. */
export function maildirTransport(dir: string): (job: DeliveryJob) => Promise<RcptResult[]> {
  return async (job) => {
    const results: RcptResult[] = [];
    for (const target of job.recipients) {
      results.push(await deliverOne(dir, job, target));
      job.working();
    }
    return results;
  };
}
