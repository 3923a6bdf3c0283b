import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConfig } from "./config-check";

describe("postern config check", () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-config-check-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = (name: string, yaml: string): { code: number; lines: string[] } => {
    const file = join(dir, name);
    writeFileSync(file, yaml);
    const lines: string[] = [];
    const code = checkConfig(file, {}, (line) => lines.push(line));
    return { code, lines };
  };

  it.each([
    ["a valid file", "log: { level: info }\nedge: { smtp_listen: [\"127.0.0.1:2525\"] }\n", 0, /valid for all 6 services$/],
    ["a bad option, named by every service that reads it", "nats: { servers: [\"http://x\"] }\n", 1, /^error {2}edge: invalid configuration: nats\.servers\[0\]/],
    ["an unknown option in a service section", "edge: { hostnme: x }\n", 1, /^error {2}edge: invalid configuration: edge\.hostnme: unknown option/],
    ["a misspelt section that no service reads", "egde: { hostname: x }\n", 1, /^error {2}egde: no service reads this section/],
  ])("%s", (_label, yaml, wantCode, wantLine) => {
    const { code, lines } = check(`${wantCode}-${Math.random()}.yaml`, yaml);
    expect(code).toBe(wantCode);
    expect(lines.some((l) => wantLine.test(l))).toBe(true);
  });
});
