/** Test support: swaks (Debian's swaks 20201014) against a test edge. */
import { execFile } from "node:child_process";
import { idOf } from "./harness";

const MB = 1024 * 1024;

export interface SwaksResult {
  code: number;
  out: string;
}

/** Runs swaks; resolves with its exit code and transcript (stdout and stderr) whatever the code. */
export function swaks(port: number, args: string[], timeoutMs = 120_000): Promise<SwaksResult> {
  return new Promise((resolve) => {
    execFile(
      "swaks",
      ["--server", "127.0.0.1", "--port", String(port), "--helo", "swaks.test", "--timeout", "60", ...args],
      { timeout: timeoutMs, maxBuffer: 16 * MB },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** The message id of the last "250 ... id=" reply in a swaks transcript (plain "<-" or TLS "<~"). */
export const swaksId = (out: string): string => idOf([...out.matchAll(/^<[-~] {2}250 2\.0\.0 OK id=\S+/gm)].at(-1)?.[0]);

