#!/usr/bin/env node
// `pnpm bench:events` = node --conditions=@postern/source bench/events.cjs
// Events/s from Outcomes.Record to a gRPC subscriber and to a webhook receiver
// (tests/e2e/bench-events.ts). Runs from the TypeScript sources: the condition
// resolves workspace packages to src/, and @swc/core strips types as @swc/jest does.
// With --service it runs delivery-events itself (the benchmark's child process,
// configured by $POSTERN_CONFIG), stopping when its stdin closes.
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");
const { transformSync } = require("@swc/core");

require.extensions[".ts"] = function compileTypeScript(module, filename) {
  const { code } = transformSync(readFileSync(filename, "utf8"), {
    filename,
    jsc: { parser: { syntax: "typescript" }, target: "es2022" },
    module: { type: "commonjs" },
  });
  module._compile(code, filename);
};

if (process.argv[2] === "--service") {
  process.argv.splice(2, 1);
  process.stdin.resume();
  process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
  require(path.join(__dirname, "../services/delivery-events/src/main.ts"));
} else {
  const { runEventsBench } = require(path.join(__dirname, "../tests/e2e/bench-events.ts"));
  runEventsBench({ launcher: __filename }).then(
    () => process.exit(0),
    (err) => {
      console.error(`bench:events failed: ${err && err.stack ? err.stack : err}`);
      process.exit(1);
    },
  );
}
