// Runs the workspace's TypeScript sources in plain node, as jest does (@swc/jest):
//   node --conditions=@postern/source -r ./bench/ts-register.cjs file.ts
// The condition makes @postern/* packages resolve to src/index.ts; this hook strips
// the types of each .ts file with @swc/core (no type check: `pnpm typecheck` does that).
"use strict";
const Module = require("node:module");
const { transformSync } = require("@swc/core");

const options = {
  jsc: { parser: { syntax: "typescript" }, target: "es2022" },
  module: { type: "commonjs" },
  sourceMaps: "inline",
};

Module._extensions[".ts"] = function compileTs(module, filename) {
  const source = require("node:fs").readFileSync(filename, "utf8");
  const { code } = transformSync(source, { ...options, filename });
  module._compile(code, filename);
};
