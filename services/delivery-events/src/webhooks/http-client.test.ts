/**
 * Webhook SSRF defences at the connection (issue 14): every address a name
 * resolves to is checked, the connection goes to the address that was checked
 * (the lookup is the connection's own, so a rebinding resolver gains nothing),
 * and numeric host spellings cannot sneak a private address past the check.
 */
import type { LookupAddress } from "node:dns";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseAllowList } from "./address-policy";
import { guardedLookup, WebhookClient } from "./http-client";

type Answer = LookupAddress[];
/** A resolver that answers from a script, one answer per call, and counts calls. */
function scripted(...answers: Answer[]): { resolveAll: (h: string, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => void; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    resolveAll: (hostname, cb) => {
      calls.push(hostname);
      cb(null, answers[Math.min(calls.length - 1, answers.length - 1)] ?? []);
    },
  };
}
const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

function lookup(allow: string[], answer: Answer, options: { all?: boolean; family?: number } = {}): Promise<{ err: Error | null; address?: unknown }> {
  const r = scripted(answer);
  return new Promise((resolve) =>
    guardedLookup(parseAllowList(allow), r.resolveAll)("hooks.example", options, (err: Error | null, address: unknown) => resolve({ err, address })),
  );
}

describe("guardedLookup", () => {
  test("a name with one public and one private address is refused: every address is checked", async () => {
    for (const answer of [[v4("93.184.216.34"), v4("10.1.2.3")], [v4("10.1.2.3"), v4("93.184.216.34")], [v6("2606:2800:220:1::1"), v6("fe80::1")], [v4("93.184.216.34"), v6("::ffff:127.0.0.1")]]) {
      const r = await lookup([], answer, { all: true });
      expect(r.err?.message).toMatch(/^refused: hooks\.example resolves to .* is (private|link-local|loopback)/);
    }
  });

  test("public addresses pass; allowed private ranges pass", async () => {
    expect(await lookup([], [v4("93.184.216.34")])).toEqual({ err: null, address: "93.184.216.34" });
    expect(await lookup(["10.0.0.0/8"], [v4("10.1.2.3")])).toEqual({ err: null, address: "10.1.2.3" });
  });
});

describe("WebhookClient", () => {
  let server: Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  test("DNS rebinding: each new connection is checked with its own lookup, and goes where the check said", async () => {
    // a resolver that first answers an allowed address, then a forbidden one (a rebinding attack)
    const r = scripted([v4("127.0.0.1")], [v4("169.254.169.254")]);
    const allow = parseAllowList(["127.0.0.1"]);
    const first = new WebhookClient(`http://rebind.example:${port}/hook`, { timeoutMs: 5_000, maxSockets: 1, allow, resolveAll: r.resolveAll });
    const before = hits;
    expect(await first.post("{}", {})).toEqual({ ok: true, status: 200 });
    expect(hits).toBe(before + 1);
    first.close();
    const second = new WebhookClient(`http://rebind.example:${port}/hook`, { timeoutMs: 5_000, maxSockets: 1, allow, resolveAll: r.resolveAll });
    const refused = await second.post("{}", {});
    second.close();
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/^refused: rebind\.example resolves to 169\.254\.169\.254 is link-local/);
    expect(r.calls).toEqual(["rebind.example", "rebind.example"]);
    expect(hits).toBe(before + 1);
  });

  test("numeric spellings of private and loopback addresses are refused without a connection", async () => {
    const before = hits;
    for (const host of ["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[64:ff9b::7f00:1]", "0", "[fe80::1]", "169.254.169.254", "[fd00::1]"]) {
      const client = new WebhookClient(`http://${host}:${port}/hook`, { timeoutMs: 2_000, maxSockets: 1, allow: parseAllowList([]) });
      const r = await client.post("{}", {});
      client.close();
      expect({ host, ok: r.ok, refused: r.error?.startsWith("refused: ") }).toEqual({ host, ok: false, refused: true });
    }
    expect(hits).toBe(before);
  });
});
