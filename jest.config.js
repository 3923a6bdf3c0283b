// @swc/jest strips types without type-checking: a cold run of the whole suite is
// several times faster than ts-jest (measured in ../shared/TOOLCHAIN.md). Types
// are checked once by `pnpm typecheck`, not per test file.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  // Resolve workspace packages to their TypeScript sources, not dist/.
  testEnvironmentOptions: { customExportConditions: ["@postern/source", "node", "node-addons"] },
  testMatch: ["<rootDir>/{libs,services,tools,tests}/**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }],
  },
  testTimeout: 30_000,
};
