/** Table tests of the tag-list scanner, the DKIM-Signature parser and the key record parser. */
import { generateKeyPairSync } from "node:crypto";
import { parseKeyRecord } from "./key";
import { parseSignature } from "./signature";
import { decodeBase64, parseTagList, splitColonList, stripFws } from "./tags";

describe("parseTagList", () => {
  it.each([
    ["a=1; b=2", { a: "1", b: "2" }],
    ["a=1; b=2;", { a: "1", b: "2" }],
    [" a = 1 ;\r\n\tb\t=\t2 \r\n ; ", { a: "1", b: "2" }],
    ["a=", { a: "" }],
    ["a=x y\r\n z", { a: "x y\r\n z" }],
    ["", {}],
    ["  ", {}],
    ["a_1=v", { a_1: "v" }],
    ["A=1; a=2", { A: "1", a: "2" }],
  ])("%j parses", (text, want) => {
    const r = parseTagList(text);
    expect(r.ok && Object.fromEntries([...r.tags].map(([k, t]) => [k, t.value]))).toEqual(want);
  });

  it.each([
    ["a=1;;b=2", /empty tag/],
    [";", /empty tag/],
    ["1a=2", /letter/],
    ["a", /no "="/],
    ["a b=1", /no "="/],
    ["a=1; a=2", /duplicate tag a/],
    ["a=\u0000", /control character/],
    [`${"x".repeat(40)}=1`, /too long/],
    [Array.from({ length: 70 }, (_, i) => `t${i}=1`).join(";"), /too many tags/],
  ])("%j is refused (%s)", (text, reason) => {
    const r = parseTagList(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("records the b= value area for blanking", () => {
    const text = "v=1; b= ab\r\n cd ;bh=x";
    const r = parseTagList(text);
    const b = r.ok ? r.tags.get("b") : undefined;
    expect(b && text.slice(0, b.rawStart) + text.slice(b.rawEnd)).toBe("v=1; b=;bh=x");
  });

  it("helpers", () => {
    expect(stripFws(" a b\r\n\tc ")).toBe("abc");
    expect(splitColonList(" from : to\r\n :subject")).toEqual(["from", "to", "subject"]);
    expect(decodeBase64("YWJj")?.toString()).toBe("abc");
    expect(decodeBase64("YWI=")?.toString()).toBe("ab");
    for (const bad of ["", "YWJ", "Y=Jj", "YW==Jj==", "YWJ!", "Y==="]) expect(decodeBase64(bad)).toBeUndefined();
  });
});

describe("parseSignature", () => {
  const base = "v=1; a=rsa-sha256; d=Example.COM; s=sel; h=From:To; bh=YWJj; b=YWJj ZGVm";
  it("a minimal signature with defaults", () => {
    const r = parseSignature(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sig).toMatchObject({ domain: "example.com", identity: "@example.com", headerCanon: "simple", bodyCanon: "simple", signedHeaders: ["from", "to"], keyType: "rsa", hash: "sha256" });
    expect(r.sig.signature.toString()).toBe("abcdef");
    expect(r.facts.headerB).toBe("YWJjZGVm");
  });
  it("keeps what it learned when it fails", () => {
    const r = parseSignature("v=1; a=rsa-sha256; d=example.com; s=sel; b=QUJDREVGR0hJSg==");
    expect(r.ok).toBe(false);
    expect(r.facts).toMatchObject({ domain: "example.com", selector: "sel", algorithm: "rsa-sha256", headerB: "QUJDREVG", identity: "@example.com" });
  });
  it.each([
    ["l=18446744073709551616", true],
    [`l=${"9".repeat(77)}`, false],
    ["t=123456789012345", true],
    ["t=1234567890123456", false],
    ["i=@sub.example.com", true],
    ["i=@badexample.com", false],
    ["i=noat", false],
    ["c=relaxed/relaxed/relaxed", false],
    ["q=foo:dns/txt", true],
    ["h=from:", false],
  ])("%s → ok=%s", (extra, ok) => {
    expect(parseSignature(`${base}; ${extra}`).ok).toBe(ok);
  });
  it("l= beyond 2^53 is kept as larger than any body", () => {
    const r = parseSignature(`${base}; l=18446744073709551616`);
    expect(r.ok && r.sig.bodyLength).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("parseKeyRecord", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
  const spki = rsa.export({ format: "der", type: "spki" }).toString("base64");
  const pkcs1 = rsa.export({ format: "der", type: "pkcs1" }).toString("base64");
  const edRaw = Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x as string, "base64url").toString("base64");
  it.each([
    [`p=${spki}`, { keyType: "rsa", bits: 1024, testing: false, strict: false }],
    [`v=DKIM1; k=rsa; p=${pkcs1}`, { keyType: "rsa", bits: 1024 }],
    [`v=DKIM1; k=ED25519; p=${edRaw}`, { keyType: "ed25519", bits: 256 }],
    [`t=y:s; h=SHA256; p=${spki}`, { testing: true, strict: true, hashes: ["sha256"] }],
    [`s=*; n=notes; p=${spki}`, { keyType: "rsa" }],
  ])("%s", (text, want) => {
    const r = parseKeyRecord(text);
    expect(r.ok && r.key).toMatchObject(want);
  });
  it.each([
    ["v=DKIM2; p=x", "POSTERN_DKIM_KEY_SYNTAX"],
    [`k=rsa; v=DKIM1; p=${spki}`, "POSTERN_DKIM_KEY_SYNTAX"],
    ["k=rsa", "POSTERN_DKIM_KEY_SYNTAX"],
    ["k=rsa; p=", "POSTERN_DKIM_KEY_REVOKED"],
    [`k=ed25519; p=${spki}`, "POSTERN_DKIM_KEY_SYNTAX"],
    [`k=rsa; p=${edRaw}`, "POSTERN_DKIM_KEY_SYNTAX"],
    [`k=ecdsa; p=${spki}`, "POSTERN_DKIM_KEY_MISMATCH"],
    [`s=tlsrpt; p=${spki}`, "POSTERN_DKIM_KEY_MISMATCH"],
    [`p=${"A".repeat(9000)}`, "POSTERN_DKIM_KEY_SYNTAX"],
    ["v=spf1 -all", "POSTERN_DKIM_KEY_SYNTAX"],
  ])("%s → %s", (text, code) => {
    const r = parseKeyRecord(text);
    expect(r.ok ? "ok" : r.error.code).toBe(code);
  });
});
