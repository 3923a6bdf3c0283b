// dane-outbound (or the service named by argv[2], e.g. delivery-events) as its own
// process, from the TypeScript sources (node
// --conditions=@postern/source, types stripped by ../ts-register.cjs), configured by
// $POSTERN_CONFIG. Used by `pnpm bench:outbound` and tests/e2e/outbound-sigkill.test.ts.
// It stops gracefully (SIGTERM) when its stdin closes, i.e. when the parent ends in any
// way; SIGKILL from the parent is a real crash.
"use strict";
const path = require("node:path");
require("../ts-register.cjs");

process.stdin.resume();
process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
const service = /^[a-z-]+$/.test(process.argv[2] ?? "") ? process.argv[2] : "dane-outbound";
require(path.join(__dirname, `../../services/${service}/src/main.ts`));
