/**
 * Table tests of verifyMessage: every result and code, key record rules,
 * options, multiple signatures, streaming, and the Authentication-Results
 * fragment.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { Readable } from "node:stream";
import { createDkimZone, type DkimDns, type DkimResult, type DkimZoneEntry, dkimAuthResults, DkimOptionsError, signMessage, signStream, verifyMessage, type VerifyOptions } from "./index";
import { signRaw } from "./test/sign-raw";

const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
const rsaSpki = rsa.publicKey.export({ format: "der", type: "spki" }).toString("base64");
const ed = generateKeyPairSync("ed25519");
const edRaw = Buffer.from(ed.publicKey.export({ format: "jwk" }).x as string, "base64url").toString("base64");
const small = generateKeyPairSync("rsa", { modulusLength: 768 });
const smallSpki = small.publicKey.export({ format: "der", type: "spki" }).toString("base64");

const MESSAGE = Buffer.from("From: Joe <joe@example.com>\r\nTo: x@example.net\r\nSubject: hello  there\r\n\r\nHi.\r\n\r\nBye.\r\n", "latin1");
const NOW = 1_700_000_000_000;
const baseTags: [string, string][] = [
  ["v", "1"],
  ["a", "rsa-sha256"],
  ["c", "relaxed/relaxed"],
  ["d", "example.com"],
  ["s", "sel"],
  ["h", "from:to:subject"],
];
const withTags = (change: Record<string, string | null>): [string, string][] => {
  const out: [string, string][] = baseTags.filter(([n]) => change[n] !== null).map(([n, v]) => [n, change[n] ?? v]);
  for (const [n, v] of Object.entries(change)) if (v !== null && !out.some(([m]) => m === n)) out.push([n, v]);
  return out;
};

async function verify(message: Buffer, zone: Record<string, DkimZoneEntry>, options: Partial<VerifyOptions> = {}): Promise<DkimResult[]> {
  return verifyMessage(message, { resolver: createDkimZone(zone), now: () => NOW, ...options });
}
const signed = (tags: [string, string][], key: KeyObject = rsa.privateKey, extra: { corrupt?: boolean } = {}): Buffer =>
  Buffer.concat([Buffer.from(signRaw(MESSAGE, { tags, key, ...extra }), "latin1"), MESSAGE]);
const ZONE = { "sel._domainkey.example.com": `v=DKIM1; k=rsa; p=${rsaSpki}`, "ed._domainkey.example.com": `v=DKIM1; k=ed25519; p=${edRaw}` };

interface Row {
  readonly name: string;
  readonly tags: [string, string][];
  readonly zone?: Record<string, DkimZoneEntry>;
  readonly options?: Partial<VerifyOptions>;
  readonly key?: KeyObject;
  readonly corrupt?: boolean;
  readonly wantResult: DkimResult["result"];
  readonly wantCode?: string;
  readonly wantReason?: RegExp;
}

const rows: Row[] = [
  { name: "rsa-sha256 relaxed/relaxed", tags: withTags({}), wantResult: "pass" },
  { name: "simple/simple (c= absent)", tags: withTags({ c: null }), wantResult: "pass" },
  { name: "c=relaxed means relaxed/simple", tags: withTags({ c: "relaxed" }), wantResult: "pass" },
  { name: "ed25519-sha256", tags: withTags({ a: "ed25519-sha256", s: "ed" }), key: ed.privateKey, wantResult: "pass" },
  { name: "i= in a subdomain of d=", tags: withTags({ i: "joe@mail.example.com" }), wantResult: "pass" },
  { name: "q=dns/txt", tags: withTags({ q: "dns/txt" }), wantResult: "pass" },
  { name: "unknown tags are ignored", tags: withTags({ zz: "whatever" }), wantResult: "pass" },
  { name: "over-signed From", tags: withTags({ h: "from:from:to:subject" }), wantResult: "pass" },
  { name: "t= and x= around now", tags: withTags({ t: String(NOW / 1000 - 10), x: String(NOW / 1000 + 10) }), wantResult: "pass" },
  { name: "bad signature", tags: withTags({}), corrupt: true, wantResult: "fail", wantCode: "POSTERN_DKIM_BAD_SIGNATURE" },
  { name: "wrong bh=", tags: withTags({ bh: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }), wantResult: "fail", wantCode: "POSTERN_DKIM_BODY_HASH" },
  { name: "l= longer than the body", tags: withTags({ l: "1000", bh: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }), wantResult: "fail", wantReason: /l= is longer/ },
  { name: "rsa-sha1 is policy by default", tags: withTags({ a: "rsa-sha1" }), wantResult: "policy", wantCode: "POSTERN_DKIM_POLICY", wantReason: /RFC 8301/ },
  { name: "rsa-sha1 with allowSha1", tags: withTags({ a: "rsa-sha1" }), options: { allowSha1: true }, wantResult: "pass" },
  { name: "768-bit key is policy", tags: withTags({ s: "small" }), key: small.privateKey, zone: { "small._domainkey.example.com": `p=${smallSpki}` }, wantResult: "policy", wantReason: /768-bit/ },
  { name: "768-bit key with minRsaBits 512", tags: withTags({ s: "small" }), key: small.privateKey, zone: { "small._domainkey.example.com": `p=${smallSpki}` }, options: { minRsaBits: 512 }, wantResult: "pass" },
  { name: "expired", tags: withTags({ x: String(NOW / 1000 - 1) }), wantResult: "neutral", wantCode: "POSTERN_DKIM_TIME" },
  { name: "t= far in the future", tags: withTags({ t: String(NOW / 1000 + 40_000) }), wantResult: "neutral", wantCode: "POSTERN_DKIM_TIME" },
  { name: "t= a little in the future", tags: withTags({ t: String(NOW / 1000 + 600) }), wantResult: "pass" },
  { name: "x= before t=", tags: withTags({ t: "200", x: "100" }), wantResult: "permerror", wantReason: /x= is before t=/ },
  ...["v", "a", "d", "s", "h"].map((t): Row => ({ name: `missing ${t}=`, tags: withTags({ [t]: null }), wantResult: "permerror", wantCode: "POSTERN_DKIM_SIGNATURE_SYNTAX", wantReason: new RegExp(`missing required tag ${t}=`) })),
  { name: "v=2", tags: withTags({ v: "2" }), wantResult: "permerror", wantReason: /version/ },
  { name: "unknown algorithm", tags: withTags({ a: "rsa-md5" }), wantResult: "permerror", wantReason: /unsupported algorithm/ },
  { name: "unknown canonicalization", tags: withTags({ c: "relaxed/fancy" }), wantResult: "permerror", wantReason: /canonicalization/ },
  { name: "h= without From", tags: withTags({ h: "to:subject" }), wantResult: "permerror", wantReason: /From/ },
  { name: "i= outside d=", tags: withTags({ i: "joe@example.org" }), wantResult: "permerror", wantReason: /i= is not in d=/ },
  { name: "q= other than dns/txt", tags: withTags({ q: "http/well-known" }), wantResult: "permerror", wantReason: /query method/ },
  { name: "d= not a domain", tags: withTags({ d: "exa mple.com" }), wantResult: "permerror", wantReason: /invalid domain/ },
  { name: "l= not a number", tags: withTags({ l: "12a" }), wantResult: "permerror", wantReason: /l=/ },
  { name: "duplicate tag", tags: [...withTags({}), ["d", "example.com"]], wantResult: "permerror", wantReason: /duplicate tag d/ },
  { name: "no key (NXDOMAIN)", tags: withTags({ s: "none" }), wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_MISSING" },
  { name: "no key (NODATA)", tags: withTags({}), zone: { "sel._domainkey.example.com": { fail: "nodata" } }, wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_MISSING" },
  { name: "key lookup timeout", tags: withTags({}), zone: { "sel._domainkey.example.com": { fail: "timeout" } }, wantResult: "temperror", wantCode: "POSTERN_DKIM_DNS" },
  { name: "key lookup SERVFAIL", tags: withTags({}), zone: { "sel._domainkey.example.com": { fail: "servfail" } }, wantResult: "temperror", wantCode: "POSTERN_DKIM_DNS" },
  { name: "revoked key (p= empty)", tags: withTags({}), zone: { "sel._domainkey.example.com": "v=DKIM1; p=" }, wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_REVOKED" },
  { name: "k=ed25519 key for a=rsa-sha256", tags: withTags({}), zone: { "sel._domainkey.example.com": `k=ed25519; p=${edRaw}` }, wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_MISMATCH" },
  { name: "unknown k=", tags: withTags({}), zone: { "sel._domainkey.example.com": `k=dsa; p=${rsaSpki}` }, wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_MISMATCH" },
  { name: "key h=sha1 only", tags: withTags({}), zone: { "sel._domainkey.example.com": `h=sha1; p=${rsaSpki}` }, wantResult: "permerror", wantReason: /h=/ },
  { name: "key h=sha1:sha256", tags: withTags({}), zone: { "sel._domainkey.example.com": `h=sha1:sha256; p=${rsaSpki}` }, wantResult: "pass" },
  { name: "key s=tlsrpt", tags: withTags({}), zone: { "sel._domainkey.example.com": `s=tlsrpt; p=${rsaSpki}` }, wantResult: "permerror", wantReason: /not for email/ },
  { name: "key s=email:tlsrpt", tags: withTags({}), zone: { "sel._domainkey.example.com": `s=email:tlsrpt; p=${rsaSpki}` }, wantResult: "pass" },
  { name: "key t=s with i= in a subdomain", tags: withTags({ i: "@mail.example.com" }), zone: { "sel._domainkey.example.com": `t=s; p=${rsaSpki}` }, wantResult: "permerror", wantReason: /t=s/ },
  { name: "key t=s with i= in d=", tags: withTags({ i: "joe@example.com" }), zone: { "sel._domainkey.example.com": `t=s; p=${rsaSpki}` }, wantResult: "pass" },
  { name: "key v= not first", tags: withTags({}), zone: { "sel._domainkey.example.com": `k=rsa; v=DKIM1; p=${rsaSpki}` }, wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_SYNTAX" },
  { name: "key p= not base64", tags: withTags({}), zone: { "sel._domainkey.example.com": "p=!!!!" }, wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_SYNTAX" },
  { name: "key p= not a key", tags: withTags({}), zone: { "sel._domainkey.example.com": "p=AAAA" }, wantResult: "permerror", wantCode: "POSTERN_DKIM_KEY_SYNTAX" },
  { name: "key record split into strings", tags: withTags({}), zone: { "sel._domainkey.example.com": { strings: [`v=DKIM1; k=rsa; p=${rsaSpki.slice(0, 100)}`, rsaSpki.slice(100)] } }, wantResult: "pass" },
  { name: "key record with folded p=", tags: withTags({}), zone: { "sel._domainkey.example.com": `v=DKIM1; p=${rsaSpki.slice(0, 50)} ${rsaSpki.slice(50)}` }, wantResult: "pass" },
  { name: "two TXT records, the first not a key", tags: withTags({}), zone: { "sel._domainkey.example.com": ["v=spf1 -all", `p=${rsaSpki}`] }, wantResult: "pass" },
];

describe("verifyMessage results", () => {
  it.each(rows)("$name → $wantResult", async (row) => {
    const [r] = await verify(signed(row.tags, row.key, { corrupt: row.corrupt ?? false }), { ...ZONE, ...row.zone }, row.options);
    expect(r?.result).toBe(row.wantResult);
    if (row.wantCode !== undefined) expect(r?.code).toBe(row.wantCode);
    if (row.wantReason !== undefined) expect(r?.reason).toMatch(row.wantReason);
    if (row.wantResult === "pass") expect(r?.reason).toBeUndefined();
    expect(r?.authResults.startsWith(`dkim=${row.wantResult}`)).toBe(true);
  });

  it("key t=y is reported as testing, still pass", async () => {
    const [r] = await verify(signed(withTags({})), { "sel._domainkey.example.com": `t=y; p=${rsaSpki}` });
    expect(r).toMatchObject({ result: "pass", testing: true });
    expect(r?.authResults).toContain("testing");
  });

  it("reports the Authentication-Results properties", async () => {
    const [r] = await verify(signed(withTags({ i: "joe@example.com" })), ZONE);
    expect(r).toMatchObject({ domain: "example.com", identity: "joe@example.com", selector: "sel", algorithm: "rsa-sha256", keyBits: 1024, canonicalization: "relaxed/relaxed", signedHeaders: ["from", "to", "subject"] });
    expect(r?.authResults).toBe(`dkim=pass (1024-bit rsa key) header.d=example.com header.i=joe@example.com header.s=sel header.a=rsa-sha256 header.b="${r?.headerB}"`);
    expect(r?.headerB).toHaveLength(8);
  });

  it("quotes header.i when its local part is not a dot-atom, and keeps comments free of parentheses", async () => {
    const [r] = await verify(signed(withTags({ i: '"a b"@example.com', x: String(NOW / 1000 - 5) })), ZONE);
    expect(r?.authResults).toContain('header.i="\\"a b\\"@example.com"');
    expect(r?.authResults).toMatch(/^dkim=neutral \(signature expired \?x=\?\) /);
  });

  it("a resolver that throws gives temperror with POSTERN_DKIM_INTERNAL", async () => {
    const resolver: DkimDns = { txt: () => Promise.reject(new Error("boom")) };
    const [r] = await verifyMessage(signed(withTags({})), { resolver });
    expect(r).toMatchObject({ result: "temperror", code: "POSTERN_DKIM_INTERNAL", reason: "internal error: boom" });
  });

  it("an aborted signal makes a pending lookup temperror", async () => {
    const controller = new AbortController();
    const resolver: DkimDns = { txt: () => new Promise(() => undefined) };
    const pending = verifyMessage(signed(withTags({})), { resolver, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    const [r] = await pending;
    expect(r).toMatchObject({ result: "temperror", code: "POSTERN_DKIM_DNS" });
  });

  it("an unsigned message gives [] and dkimAuthResults gives dkim=none", async () => {
    const results = await verify(MESSAGE, ZONE);
    expect(results).toEqual([]);
    expect(dkimAuthResults(results)).toEqual(["dkim=none"]);
  });

  it("several signatures: one result each, in order, one lookup per key name", async () => {
    const a = signRaw(MESSAGE, { tags: withTags({}), key: rsa.privateKey });
    const b = signRaw(MESSAGE, { tags: withTags({ a: "ed25519-sha256", s: "ed" }), key: ed.privateKey });
    const c = signRaw(MESSAGE, { tags: withTags({ c: "simple/simple" }), key: rsa.privateKey });
    const zone = createDkimZone(ZONE);
    const results = await verifyMessage(Buffer.concat([Buffer.from(a + b + c, "latin1"), MESSAGE]), { resolver: zone, now: () => NOW });
    expect(results.map((r) => [r.selector, r.result])).toEqual([
      ["sel", "pass"],
      ["ed", "pass"],
      ["sel", "pass"],
    ]);
    expect(zone.queries.sort()).toEqual(["ed._domainkey.example.com", "sel._domainkey.example.com"]);
  });

  it("signatures past maxSignatures are neutral without a lookup", async () => {
    const sig = signRaw(MESSAGE, { tags: withTags({}), key: rsa.privateKey });
    const zone = createDkimZone(ZONE);
    const results = await verifyMessage(Buffer.concat([Buffer.from(sig.repeat(3), "latin1"), MESSAGE]), { resolver: zone, maxSignatures: 2 });
    expect(results.map((r) => r.result)).toEqual(["pass", "pass", "neutral"]);
    expect(results[2]?.code).toBe("POSTERN_DKIM_LIMIT");
  });

  it("a header section over maxHeaderBytes is one neutral result, and the stream is not read further", async () => {
    const big = Buffer.concat([Buffer.from(`X-Big: ${"a".repeat(5000)}\r\n`), signed(withTags({}))]);
    let pulled = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < big.length; i += 100) {
        pulled++;
        yield await Promise.resolve(big.subarray(i, i + 100));
      }
    }
    const results = await verifyMessage(source(), { resolver: createDkimZone(ZONE), maxHeaderBytes: 1000 });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ result: "neutral", code: "POSTERN_DKIM_LIMIT", reason: "header section too large" });
    expect(pulled).toBeLessThan(15);
    expect((await verify(big, ZONE, { maxHeaderBytes: 1000 }))[0]?.code).toBe("POSTERN_DKIM_LIMIT");
  });

  it("a From added after signing breaks an over-signed signature", async () => {
    const m = signed(withTags({ h: "from:from:to:subject" }));
    const added = Buffer.concat([m.subarray(0, m.indexOf("\r\n\r\n")), Buffer.from("\r\nFrom: evil@example.org"), m.subarray(m.indexOf("\r\n\r\n"))]);
    expect((await verify(added, ZONE))[0]?.result).toBe("fail");
  });

  it("streams: any chunking of a signed message gives the same results", async () => {
    const message = Buffer.concat([Buffer.from(signMessage(MESSAGE, { domain: "example.com", selector: "sel", privateKey: rsa.privateKey, canonicalization: "simple/simple" }), "latin1"), MESSAGE]);
    for (let size = 1; size < 40; size += 3) {
      const parts: Buffer[] = [];
      for (let i = 0; i < message.length; i += size) parts.push(message.subarray(i, i + size));
      const [r] = await verifyMessage(Readable.from(parts), { resolver: createDkimZone(ZONE) });
      expect([size, r?.result]).toEqual([size, "pass"]);
    }
  });

  it("a 20 MB message signed and verified from streams that never hold it whole", async () => {
    const line = Buffer.from("The quick  brown fox\tjumps over the lazy dog \r\n");
    const chunk = Buffer.concat(Array.from({ length: Math.floor(65536 / line.length) }, () => line));
    const chunks = Math.ceil((20 * 1024 * 1024) / chunk.length);
    async function* source(prefix: string): AsyncGenerator<Buffer> {
      yield Buffer.from(`${prefix}From: big@example.com\r\nSubject: big\r\n\r\n`);
      for (let i = 0; i < chunks; i++) yield await Promise.resolve(chunk);
    }
    for (const canonicalization of ["simple/simple", "relaxed/relaxed"] as const) {
      const sig = await signStream(source(""), { domain: "example.com", selector: "sel", privateKey: rsa.privateKey, canonicalization, bodyLength: true });
      const [r] = await verifyMessage(source(sig), { resolver: createDkimZone(ZONE) });
      expect([canonicalization, r?.result, r?.bodyLength]).toEqual([canonicalization, "pass", chunks * chunk.length - (canonicalization === "relaxed/relaxed" ? (chunks * chunk.length / line.length) * 2 : 0)]);
    }
  });

  it("bad options are thrown", async () => {
    await expect(verifyMessage(MESSAGE, { resolver: {} as DkimDns })).rejects.toBeInstanceOf(DkimOptionsError);
    await expect(verifyMessage(MESSAGE, { resolver: createDkimZone({}), minRsaBits: -1 })).rejects.toBeInstanceOf(DkimOptionsError);
  });
});
