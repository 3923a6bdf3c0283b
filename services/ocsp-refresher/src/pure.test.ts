import { OcspErrorCode, type OcspVerdict, type VerifiedResponse } from "@postern/ocsp";
import { parseConfig } from "@postern/service-kit";
import { configSchema } from "./config";
import { decodeCertRecord, decodeStaple, MAX_EDGES, RecordError, type StapleEnvelope, withEdge } from "./records";
import { backoffDelay, decide, nextRefreshAt, retryAt, STATUS_UNKNOWN_CODE } from "./schedule";

const H = 3_600_000;
const T = Date.UTC(2026, 0, 1);

describe("nextRefreshAt", () => {
  const cases: Array<{ name: string; thisUpdate: number; nextUpdate: number; signerNotAfter: number; now: number; want: number }> = [
    { name: "half of the validity", thisUpdate: T, nextUpdate: T + 24 * H, signerNotAfter: T + 1000 * H, now: T, want: T + 12 * H },
    { name: "the signer expires first: half of what it covers", thisUpdate: T, nextUpdate: T + 24 * H, signerNotAfter: T + 8 * H, now: T, want: T + 4 * H },
    { name: "an old response from a cache: half of what is left", thisUpdate: T, nextUpdate: T + 24 * H, signerNotAfter: T + 1000 * H, now: T + 20 * H, want: T + 22 * H },
    { name: "never sooner than the minimum interval", thisUpdate: T, nextUpdate: T + 24 * H, signerNotAfter: T + 1000 * H, now: T + 24 * H - 60_000, want: T + 24 * H },
    { name: "but never after the end of validity", thisUpdate: T, nextUpdate: T + 30_000, signerNotAfter: T + 1000 * H, now: T, want: T + 60_000 - 30_000 },
  ];
  test.each(cases)("$name", (c) => {
    expect(nextRefreshAt(c, 0.5, c.now, 60_000)).toBe(c.want);
  });
  test("refresh_fraction", () => {
    expect(nextRefreshAt({ thisUpdate: T, nextUpdate: T + 100 * H, signerNotAfter: T + 1000 * H }, 0.25, T, 60_000)).toBe(T + 25 * H);
  });
});

test("backoffDelay doubles up to the cap; retryAt stops at the held staple's expiry", () => {
  expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelay(n, 60_000, 3_600_000))).toEqual([60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000]);
  const held = { next_update: new Date(T + 30_000).toISOString() } as StapleEnvelope;
  expect(retryAt(T, 60_000, held)).toBe(T + 30_000);
  expect(retryAt(T, 10_000, held)).toBe(T + 10_000);
  expect(retryAt(T + 40_000, 10_000, held)).toBe(T + 50_000);
  expect(retryAt(T, 10_000, undefined)).toBe(T + 10_000);
});

describe("decide", () => {
  const response = { der: Buffer.from("new") } as VerifiedResponse;
  const held = { der: Buffer.from("old").toString("base64") } as StapleEnvelope;
  const cases: Array<[string, OcspVerdict, StapleEnvelope | undefined, string]> = [
    ["good replaces", { kind: "good", response }, held, "store"],
    ["revoked replaces", { kind: "revoked", response }, held, "store"],
    ["good with nothing held", { kind: "good", response }, undefined, "store"],
    ["the same response again", { kind: "good", response: { ...response, der: Buffer.from("old") } }, held, "same"],
    ["unknown is not a staple", { kind: "unknown", response }, held, `reject ${STATUS_UNKNOWN_CODE}`],
    ["invalid keeps the held one", { kind: "invalid", code: OcspErrorCode.BadSignature, reason: "x", error: new Error("x") }, held, `reject ${OcspErrorCode.BadSignature}`],
  ];
  test.each(cases)("%s", (_n, verdict, h, want) => {
    const d = decide(verdict, h);
    expect(d.kind === "reject" ? `reject ${d.code}` : d.kind).toBe(want);
  });
});

describe("records", () => {
  test("withEdge refreshes, ages out and caps edges", () => {
    expect(withEdge({ "a:1": T - 2 * H, "b:1": T - 10 }, "c:1", T, H)).toEqual({ "c:1": T, "b:1": T - 10 });
    expect(withEdge({ "a:1": T - 10 }, "a:1", T, H)).toEqual({ "a:1": T });
    const many = Object.fromEntries(Array.from({ length: MAX_EDGES + 5 }, (_, i) => [`e${i}:1`, T - i]));
    const kept = withEdge(many, undefined, T, H);
    expect(Object.keys(kept)).toHaveLength(MAX_EDGES);
    expect(kept[`e${MAX_EDGES + 4}:1`]).toBeUndefined();
  });

  test("values that do not decode are RecordErrors", () => {
    expect(() => decodeCertRecord("k", Buffer.from("{"))).toThrow(RecordError);
    expect(() => decodeCertRecord("k", Buffer.from(JSON.stringify({ v: 2 })))).toThrow(RecordError);
    expect(() => decodeStaple("k", Buffer.from(JSON.stringify({ v: 1, status: "unknown" })))).toThrow(/KV value k/);
  });
});

describe("configuration", () => {
  test("defaults", () => {
    const c = parseConfig(configSchema, {}).ocsp_refresher;
    expect(c).toMatchObject({ fetch_timeout_ms: 10_000, max_response_bytes: 65_536, refresh_fraction: 0.5, backoff: { initial_ms: 60_000, max_ms: 3_600_000 }, request_nonce: false });
    expect(c.responder_override_url).toBeUndefined();
    expect(c.staple_file_dir).toBeUndefined();
  });
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ responder_override_url: "ftp://x/" }, "ocsp_refresher.responder_override_url"],
    [{ refresh_fraction: 1 }, "ocsp_refresher.refresh_fraction"],
    [{ backoff: { initial_ms: 10, max_ms: 5 } }, "ocsp_refresher.backoff.max_ms"],
    [{ lease_ms: 1000, fetch_timeout_ms: 2000 }, "ocsp_refresher.lease_ms"],
    [{ typo: 1 }, "ocsp_refresher"],
  ];
  test.each(bad)("%j is refused naming %s", (section, path) => {
    expect(() => parseConfig(configSchema, { ocsp_refresher: section })).toThrow(path);
  });
});
