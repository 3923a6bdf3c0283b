// The edge as `pnpm bench:edge` runs it: services/edge/src/main.ts from the
// TypeScript sources (node --conditions=@postern/source, types stripped by
// ../ts-register.cjs), configured by $POSTERN_CONFIG. The process that the bench
// started stops (SIGTERM, a graceful shutdown) when its stdin closes, i.e. when
// the bench ends in any way; cluster workers (edge.workers > 1) are forked from
// this same file and leave that to their primary.
"use strict";
const cluster = require("node:cluster");
const path = require("node:path");
require("../ts-register.cjs");

if (cluster.isPrimary) {
  process.stdin.resume();
  process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
}
require(path.join(__dirname, "../../services/edge/src/main.ts"));
