/** The signer: options, the h= list with over-signing, folding, streaming, and round trips through the verifier. */
import { generateKeyPairSync } from "node:crypto";
import { Readable } from "node:stream";
import { createDkimZone, DkimOptionsError, DkimSignError, DkimSigner, parseSignature, signMessage, signStream, verifyMessage, type SignOptions } from "./index";

const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
const ed = generateKeyPairSync("ed25519");
const zone = createDkimZone({
  "sel._domainkey.example.com": `p=${rsa.publicKey.export({ format: "der", type: "spki" }).toString("base64")}`,
  "ed._domainkey.example.com": `k=ed25519; p=${Buffer.from(ed.publicKey.export({ format: "jwk" }).x as string, "base64url").toString("base64")}`,
});
const MESSAGE = Buffer.from(
  "Received: from a\r\nFrom: Joe <joe@example.com>\r\nTo: a@example.net\r\nTo: b@example.net\r\nSubject: hi\r\nX-Other: 1\r\n\r\nBody\r\n",
  "latin1",
);
const opts: SignOptions = { domain: "example.com", selector: "sel", privateKey: rsa.privateKey, now: () => 1_700_000_000_000 };
const tagsOf = (sig: string): Map<string, string> => {
  const parsed = parseSignature(sig.slice(sig.indexOf(":") + 1));
  if (!parsed.ok) throw parsed.error;
  return new Map([...sig.slice(sig.indexOf(":") + 1).split(";")].map((t) => t.trim().split("=", 2) as [string, string]));
};
const verified = async (sig: string, message: Buffer = MESSAGE): Promise<string | undefined> =>
  (await verifyMessage(Buffer.concat([Buffer.from(sig, "latin1"), message]), { resolver: zone }))[0]?.result;

describe("signMessage", () => {
  it("defaults: rsa-sha256, relaxed/relaxed, present fields from the default list, From over-signed, t=", async () => {
    const sig = signMessage(MESSAGE, opts);
    const t = tagsOf(sig);
    expect(t.get("a")).toBe("rsa-sha256");
    expect(t.get("c")).toBe("relaxed/relaxed");
    expect(t.get("t")).toBe("1700000000");
    expect(t.get("h")?.replace(/\s/g, "")).toBe("from:to:to:subject:from");
    expect(t.has("l")).toBe(false);
    expect(t.has("x")).toBe(false);
    expect(await verified(sig)).toBe("pass");
  });

  it("lines stay within 78 columns and end with CRLF", () => {
    const sig = signMessage(MESSAGE, { ...opts, headers: ["from", "to", "subject", "x-other", "received", "reply-to"], identity: "joe.sixpack@mail.example.com", bodyLength: true, expiresIn: 3600 });
    expect(sig.endsWith("\r\n")).toBe(true);
    for (const line of sig.slice(0, -2).split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of sig.slice(0, -2).split("\r\n").slice(1)) expect(line).toMatch(/^[\t ]/);
    expect(sig.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  });

  it.each(["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"] as const)("%s with l=, i=, x= verifies", async (canonicalization) => {
    const sig = signMessage(MESSAGE, { ...opts, now: Date.now, canonicalization, bodyLength: true, identity: "joe@example.com", expiresIn: 60 });
    expect(await verified(sig)).toBe("pass");
    expect(tagsOf(sig).get("l")).toBe("6");
  });

  it("ed25519 from a KeyObject, a PEM and dkimpy's base64 seed", async () => {
    const seed = Buffer.from(ed.privateKey.export({ format: "jwk" }).d as string, "base64url").toString("base64");
    for (const privateKey of [ed.privateKey, ed.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), seed]) {
      const sig = signMessage(MESSAGE, { domain: "example.com", selector: "ed", privateKey });
      expect(tagsOf(sig).get("a")).toBe("ed25519-sha256");
      expect(await verified(sig)).toBe("pass");
    }
  });

  it("a configured header list: only those present are signed; nothing is over-signed when oversign is []", () => {
    const sig = signMessage(MESSAGE, { ...opts, headers: ["subject", "x-missing"], oversign: [] });
    expect(tagsOf(sig).get("h")).toBe("from:subject");
  });

  it("over-signing blocks added fields", async () => {
    const sig = signMessage(MESSAGE, { ...opts, oversign: ["from", "subject"] });
    const added = Buffer.from(MESSAGE.toString("latin1").replace("\r\n\r\n", "\r\nSubject: injected\r\n\r\n"), "latin1");
    expect(await verified(sig, added)).toBe("fail");
    const other = Buffer.from(MESSAGE.toString("latin1").replace("\r\n\r\n", "\r\nX-New: fine\r\n\r\n"), "latin1");
    expect(await verified(sig, other)).toBe("pass");
  });

  it("streaming and incremental signing give the same field as whole-message signing", async () => {
    const whole = signMessage(MESSAGE, opts);
    const parts: Buffer[] = [];
    for (let i = 0; i < MESSAGE.length; i += 5) parts.push(MESSAGE.subarray(i, i + 5));
    expect(await signStream(Readable.from(parts), opts)).toBe(whole);
    const signer = new DkimSigner(opts);
    for (const p of parts) signer.update(p);
    expect(signer.finish()).toBe(whole);
  });

  it.each<[string, Partial<SignOptions>]>([
    ["domain", { domain: "not a domain" }],
    ["selector", { selector: "" }],
    ["privateKey", { privateKey: "garbage" }],
    ["privateKey", { privateKey: rsa.publicKey }],
    ["algorithm", { algorithm: "ed25519-sha256" }],
    ["canonicalization", { canonicalization: "relaxed/fancy" as SignOptions["canonicalization"] }],
    ["identity", { identity: "joe@example.org" }],
    ["identity", { identity: "joe; x=1@example.com" }],
    ["expiresIn", { expiresIn: 0 }],
    ["headers", { headers: ["bad:name"] }],
  ])("refuses a bad %s", (option, bad) => {
    try {
      signMessage(MESSAGE, { ...opts, ...bad });
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(DkimOptionsError);
      expect((e as DkimOptionsError).option).toBe(option);
    }
  });

  it("refuses a message without From, and a header section over maxHeaderBytes", () => {
    expect(() => signMessage("To: a@example.net\r\n\r\nx\r\n", opts)).toThrow(DkimSignError);
    expect(() => signMessage(MESSAGE, { ...opts, maxHeaderBytes: 50 })).toThrow(DkimSignError);
  });
});
