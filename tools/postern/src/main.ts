import { runCli } from "./index";

runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`postern: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
