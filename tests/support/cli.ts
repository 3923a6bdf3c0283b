import { runCli } from "@postern/cli";

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

/** `postern …` in this process with `env` as its environment; what it printed, line by line, and its exit code. */
export async function cliWith(env: NodeJS.ProcessEnv, ...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { code, out, err };
}
