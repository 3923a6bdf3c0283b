import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runService, type ServiceContext } from "@postern/service-kit";
import { configSchema, createZoneDns, type SpfConfig, startSpf } from "@postern/spf";
import { type Backend, freePort, startNats } from "@postern/testing";
import { LogSink } from "@postern/testing";
import { type CliRun, cliWith } from "../support/cli";

/** `postern spf check` against a running spf service (in-memory zone instead of network DNS). */
describe("postern spf check", () => {
  let nats: Backend;
  let spf: ServiceContext<SpfConfig>;
  let address: string;

  beforeAll(async () => {
    nats = await startNats();
    address = `127.0.0.1:${await freePort()}`;
    const zone = createZoneDns({
      "example.org": [{ TXT: "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all exp=why.example.org" }],
      "why.example.org": [{ TXT: "%{i} may not send for %{d}" }],
      "mx.example.net": [{ TXT: "v=spf1 a -all" }, { A: "198.51.100.3" }],
    });
    const config = { nats: { servers: [nats.url], jetstream: { mail: { storage: "memory" }, events: { storage: "memory" }, spool: { storage: "memory" }, kv: { storage: "memory" } } }, spf: { grpc: { listen: address }, receiver: "spf.e2e.test" } };
    spf = await runService({ name: "spf", schema: configSchema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: new LogSink(), start: (ctx) => startSpf(ctx, { dns: zone }) });
  });

  afterAll(async () => {
    await spf?.shutdown.trigger("test finished");
    await nats?.stop();
  });

  async function cli(...argv: string[]): Promise<CliRun> {
    return cliWith({}, ...argv);
  }

  it("prints a pass for IPv4 with its Received-SPF", async () => {
    const r = await cli("spf", "check", "192.0.2.7", "alice@example.org", "client.example", "--server", address);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe("result:       pass");
    expect(r.out).toContain("domain:       example.org");
    expect(r.out.at(-1)).toMatch(/^Received-SPF: pass \(spf\.e2e\.test: domain of alice@example\.org designates 192\.0\.2\.7 as permitted sender\) client-ip=192\.0\.2\.7;/);
  });

  it("prints a fail with its explanation and still exits 0; IPv6 too", async () => {
    const r = await cli("spf", "check", "2001:db9::1", "alice@example.org", "--server", address);
    expect(r.code).toBe(0);
    expect(r.out).toEqual(expect.arrayContaining(["result:       fail", "explanation:  2.0.0.1.0.D.B.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1 may not send for example.org"]));
    const v6 = await cli("spf", "check", "2001:db8::25", "alice@example.org", "--server", address);
    expect(v6.out[0]).toBe("result:       pass");
  });

  it("checks the HELO identity for the null sender", async () => {
    const r = await cli("spf", "check", "198.51.100.3", "", "mx.example.net", "--server", address);
    expect(r.out).toEqual(expect.arrayContaining(["result:       pass", "identity:     helo", "domain:       mx.example.net"]));
  });

  it("exits 2 for usage errors and an unreachable server", async () => {
    expect((await cli("spf", "check", "192.0.2.7")).code).toBe(2);
    expect((await cli("spf", "check", "not-an-ip", "a@example.org", "--server", address)).code).toBe(2);
    expect((await cli("spf", "check", "192.0.2.7", "a@example.org", "--bogus")).code).toBe(2);
    const dead = await cli("spf", "check", "192.0.2.7", "a@example.org", "--server", `127.0.0.1:${await freePort()}`, "--timeout", "2");
    expect(dead.code).toBe(2);
    expect(dead.err.join("\n")).toMatch(/spf check at 127\.0\.0\.1:\d+ failed: (UNAVAILABLE|DEADLINE_EXCEEDED)/);
  });
});

describe("postern spf check against an spf service that wants a token", () => {
  const TOKEN = "cli-test-token-0123456789";
  let nats: Backend;
  let spf: ServiceContext<SpfConfig>;
  let address: string;
  const dir = mkdtempSync(join(tmpdir(), "postern-cli-token-"));
  const tokenFile = join(dir, "token");

  beforeAll(async () => {
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    nats = await startNats();
    address = `127.0.0.1:${await freePort()}`;
    const zone = createZoneDns({ "example.org": [{ TXT: "v=spf1 ip4:192.0.2.0/24 -all" }] });
    const memory = { storage: "memory" };
    const config = { nats: { servers: [nats.url], jetstream: { mail: memory, events: memory, spool: memory, kv: memory } }, spf: { grpc: { listen: address, auth_token: TOKEN }, receiver: "spf.e2e.test" } };
    spf = await runService({ name: "spf", schema: configSchema, config, env: {}, installSignalHandlers: false, exitOnError: false, logDestination: new LogSink(), start: (ctx) => startSpf(ctx, { dns: zone }) });
  });

  afterAll(async () => {
    await spf?.shutdown.trigger("test finished");
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is refused without the token, and answers with --token-file, $POSTERN_GRPC_TOKEN_FILE or $POSTERN_GRPC_TOKEN", async () => {
    const refused = await cliWith({}, "spf", "check", "192.0.2.7", "a@example.org", "--server", address);
    expect(refused.code).toBe(2);
    expect(refused.err.join("\n")).toMatch(/failed: UNAUTHENTICATED/);
    for (const [env, extra] of [
      [{}, ["--token-file", tokenFile]],
      [{ POSTERN_GRPC_TOKEN_FILE: tokenFile }, []],
      [{ POSTERN_GRPC_TOKEN: TOKEN }, []],
    ] as const) {
      const r = await cliWith(env, "spf", "check", "192.0.2.7", "a@example.org", "--server", address, ...extra);
      expect(r).toMatchObject({ code: 0 });
      expect(r.out[0]).toBe("result:       pass");
    }
  });

  it("says which option is wrong when the token file cannot be read, without a call", async () => {
    const r = await cliWith({}, "spf", "check", "192.0.2.7", "a@example.org", "--server", address, "--token-file", join(dir, "missing"));
    expect(r.code).toBe(2);
    expect(r.err.join("\n")).toMatch(/auth_token_file: cannot read .*missing/);
  });
});
