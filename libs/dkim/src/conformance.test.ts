/**
 * Issue 8, "Done when" 1 (first half): the vectors of ../test-vectors (copied
 * from ../shared/conformance/dkim, see its README) verify as that README says.
 * Run alone with `pnpm conformance:dkim`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createDkimZone, type DkimResult, DkimSignError, type DkimZoneEntry, signMessage, verifyMessage } from "./index";

const VECTORS = join(__dirname, "..", "test-vectors");
const STALWART_CLOCK = 1667843664 * 1000;

function stalwart(n: string): { dns: Record<string, string>; message: Buffer } {
  const text = readFileSync(join(VECTORS, "stalwart", `${n}.txt`), "latin1");
  const blank = text.indexOf("\n\n");
  const dns: Record<string, string> = {};
  for (const line of text.slice(0, blank).split("\n")) {
    const sp = line.indexOf(" ");
    dns[line.slice(0, sp)] = line.slice(sp + 1);
  }
  // The README: stored with LF, converted to CRLF before verifying (none contains CR).
  return { dns, message: Buffer.from(text.slice(blank + 2).replace(/\n/g, "\r\n"), "latin1") };
}

describe("stalwart vectors (clock fixed at 1667843664)", () => {
  const files = ["001", "002", "003", "004", "005", "006"];
  it.each(files)("%s: every signature passes, the last one included", async (n) => {
    const { dns, message } = stalwart(n);
    const results = await verifyMessage(message, { resolver: createDkimZone(dns), now: () => STALWART_CLOCK });
    expect(results.length).toBe(n === "001" || n === "003" ? 2 : 1);
    for (const r of results) expect({ result: r.result, reason: r.reason }).toEqual({ result: "pass", reason: undefined });
    expect(results.at(-1)?.authResults).toMatch(/^dkim=pass \(\d+-bit (rsa|ed25519) key\) header\.d=\S+ header\.i=\S+ header\.s=\S+ header\.a=\S+ header\.b="[^"]{8}"$/);
  });

  it("001 is the RFC 8463 pair: ed25519 first, then RSA", async () => {
    const { dns, message } = stalwart("001");
    const [ed, rsa] = await verifyMessage(message, { resolver: createDkimZone(dns), now: () => STALWART_CLOCK });
    expect(ed).toMatchObject({ algorithm: "ed25519-sha256", selector: "brisbane", domain: "football.example.com", keyBits: 256, result: "pass" });
    expect(rsa).toMatchObject({ algorithm: "rsa-sha256", selector: "test", keyBits: 1024, result: "pass" });
  });

  it("002's key is bare PKCS#1 and still verifies", async () => {
    const { dns, message } = stalwart("002");
    expect(Object.values(dns)[0]).toContain("p=MIGJAoGB");
    const [r] = await verifyMessage(message, { resolver: createDkimZone(dns), now: () => STALWART_CLOCK });
    expect(r?.result).toBe("pass");
  });

  it("005 is neutral (expired) with the real clock", async () => {
    const { dns, message } = stalwart("005");
    const [r] = await verifyMessage(message, { resolver: createDkimZone(dns) });
    expect(r).toMatchObject({ result: "neutral", reason: "signature expired (x=)", expiration: 1667930064 });
  });

  it("the same results when the message streams in small chunks", async () => {
    for (const n of files) {
      const { dns, message } = stalwart(n);
      const pieces: Buffer[] = [];
      for (let i = 0; i < message.length; i += 7) pieces.push(message.subarray(i, i + 7));
      const results = await verifyMessage(Readable.from(pieces), { resolver: createDkimZone(dns), now: () => STALWART_CLOCK });
      expect(results.map((r) => r.result)).toEqual(results.map(() => "pass"));
    }
  });
});

describe("dkimpy vectors", () => {
  const data = (name: string): Buffer => readFileSync(join(VECTORS, "dkimpy", name));
  const text = (name: string): string => data(name).toString("latin1").trim();
  const dnsMap = JSON.parse(readFileSync(join(VECTORS, "dkimpy-dns.json"), "utf8")) as Record<string, string | { record: string }>;
  const zoneData: Record<string, DkimZoneEntry> = {};
  for (const [name, v] of Object.entries(dnsMap)) zoneData[name] = typeof v === "string" ? text(v) : v.record;
  const zone = (over: Record<string, DkimZoneEntry> = {}): ReturnType<typeof createDkimZone> => createDkimZone({ ...zoneData, ...over });
  const results = async (message: Buffer, over?: Record<string, DkimZoneEntry>): Promise<DkimResult[]> => verifyMessage(message, { resolver: zone(over) });
  const canons = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"] as const;

  it.each(["rfc6376.signed.msg", "rfc6376.signed.rsa.msg", "ed25519test2.msg", "test2.message"])("%s verifies", async (name) => {
    const rs = await results(data(name));
    expect(rs.length).toBeGreaterThan(0);
    for (const r of rs) expect({ result: r.result, reason: r.reason }).toEqual({ result: "pass", reason: undefined });
  });

  it("test.message.baddomain (d= with a parenthesis) is a permerror, and no DNS query is made", async () => {
    const z = zone();
    const [r] = await verifyMessage(data("test.message.baddomain"), { resolver: z });
    expect(r).toMatchObject({ result: "permerror", code: "POSTERN_DKIM_SIGNATURE_SYNTAX" });
    expect(z.queries).toEqual([]);
  });

  const rsaKeys: [string, string, string][] = [
    ["test.private", "test.txt", "SPKI"],
    ["1024_testkey.key", "1024_testkey_wo_markers.pub.txt", "SPKI"],
    ["1024_testkey.key", "1024_testkey_wo_markers.pub.rsa.txt", "PKCS#1"],
    ["2048_testkey.key", "2048_testkey_wo_markers.pub.txt", "SPKI"],
    ["2048_testkey.key", "2048_testkey_wo_markers.pub.rsa.txt", "PKCS#1"],
    ["2048_testkey_PKCS8.key", "2048_testkey_PKCS8.key.pub.txt", "SPKI"],
  ];
  it.each(rsaKeys)("%s signs test.message and message.mbox; %s (%s) verifies, all canonicalisations", async (key, pub) => {
    for (const c of canons) {
      for (const m of ["test.message", "message.mbox", "rfc6376.w1258.msg"]) {
        const message = data(m);
        const sig = signMessage(message, { domain: "example.com", selector: "test", privateKey: text(key), canonicalization: c });
        const [r] = await results(Buffer.concat([Buffer.from(sig, "latin1"), message]), { "test._domainkey.example.com": text(pub) });
        expect([c, m, r?.result, r?.reason]).toEqual([c, m, "pass", undefined]);
      }
    }
  });

  it.each([
    ["ed25519test.key", "ed25519test.msg", "example.net", "ed25519test.dns"],
    ["rfc8032_7_1.key", "rfc6376.msg", "football.example.com", undefined],
  ])("%s (raw seed) signs %s for %s with ed25519-sha256", async (key, msg, domain, dns) => {
    for (const c of canons) {
      const message = data(msg);
      const selector = dns === undefined ? "brisbane" : "test";
      const sig = signMessage(message, { domain, selector, privateKey: text(key), canonicalization: c, bodyLength: true });
      expect(sig).toContain("a=ed25519-sha256");
      const [r] = await results(Buffer.concat([Buffer.from(sig, "latin1"), message]));
      expect([c, r?.result, r?.keyBits]).toEqual([c, "pass", 256]);
    }
  });

  it("rfc8032_7_1.key signing rfc6376.msg reproduces the body hash of rfc6376.signed.msg", () => {
    const sig = signMessage(data("rfc6376.msg"), { domain: "football.example.com", selector: "brisbane", privateKey: text("rfc8032_7_1.key"), canonicalization: "simple/simple" });
    expect(sig).toContain("bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
  });

  it.each([
    ["badversion.txt", "POSTERN_DKIM_KEY_SYNTAX"],
    ["badk.txt", "POSTERN_DKIM_KEY_MISMATCH"],
    ["test_bad.txt", "POSTERN_DKIM_KEY_SYNTAX"],
    ["test_tlsrpt.txt", "POSTERN_DKIM_KEY_MISMATCH"],
  ])("key record %s gives permerror (%s)", async (record, code) => {
    const message = data("test.message");
    const sig = signMessage(message, { domain: "example.com", selector: "test", privateKey: text("test.private") });
    const [r] = await results(Buffer.concat([Buffer.from(sig, "latin1"), message]), { "test._domainkey.example.com": text(record) });
    expect(r).toMatchObject({ result: "permerror", code });
  });

  it("test2.txt (no k=) is an RSA key", async () => {
    const message = data("test.message");
    const sig = signMessage(message, { domain: "example.com", selector: "test", privateKey: text("test.private") });
    const [r] = await results(Buffer.concat([Buffer.from(sig, "latin1"), message]), { "test._domainkey.example.com": text("test2.txt") });
    expect(r?.result).toBe("pass");
  });

  it("a From added above or below after signing fails (From is over-signed); an unsigned field does not matter", async () => {
    const message = data("test.message").toString("latin1");
    const sig = signMessage(message, { domain: "example.com", selector: "test", privateKey: text("test.private") });
    const [head, body] = [message.slice(0, message.indexOf("\n\n")), message.slice(message.indexOf("\n\n"))];
    const from = 'From: "Resident Evil" <sales@spammer.com>';
    const verdict = async (m: string): Promise<string | undefined> => (await results(Buffer.from(sig + m, "latin1")))[0]?.result;
    expect(await verdict(`${head}\nX-Foo: bar${body}`)).toBe("pass");
    expect(await verdict(`${head}\n${from}${body}`)).toBe("fail");
    expect(await verdict(`${from}\n${head}${body}`)).toBe("fail");
  });

  it("an altered body fails; with l= an appended body still passes", async () => {
    const message = data("test.message");
    for (const bodyLength of [false, true]) {
      const sig = signMessage(message, { domain: "example.com", selector: "test", privateKey: text("test.private"), bodyLength });
      const [r] = await results(Buffer.concat([Buffer.from(sig, "latin1"), message, Buffer.from("foo")]));
      expect(r?.result).toBe(bodyLength ? "pass" : "fail");
      if (!bodyLength) expect(r?.code).toBe("POSTERN_DKIM_BODY_HASH");
    }
  });

  it("test_nofrom.message cannot be signed", () => {
    expect(() => signMessage(data("test_nofrom.message"), { domain: "example.com", selector: "test", privateKey: text("test.private") })).toThrow(DkimSignError);
  });

  it("an unsigned message gives no results", async () => {
    expect(await results(data("test.message"))).toEqual([]);
  });
});
