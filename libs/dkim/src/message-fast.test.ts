import { verifyMessage } from "./index";
import { mayHoldSignature, parseHeaderFields } from "./message";

const hasSignatureField = (header: Buffer): boolean => parseHeaderFields(header).some((f) => f.lowerName === "dkim-signature");

describe("mayHoldSignature", () => {
  const table: [string, string, boolean][] = [
    ["unsigned", "From: a@b.test\r\nMessage-Id: <x@y>\r\nMIME-Version: 1.0\r\n\r\n", false],
    ["signed", "DKIM-Signature: v=1; d=b.test\r\nFrom: a@b.test\r\n\r\n", true],
    ["any case", "dKiM-sIgNaTuRe: v=1\r\n\r\n", true],
    ["name with trailing space", "DKIM-Signature : v=1\r\n\r\n", true],
    ["only in a value (a false positive is allowed)", "Subject: about DKIM-Signature\r\n\r\n", true],
    ["X-prefixed name", "X-DKIM-Signature: v=1\r\n\r\n", true],
    ["too short at the end", "DKIM-Signatur", false],
    ["at the very end", "DKIM-Signature", true],
    ["dash first", "-Signature: x\r\n\r\n", false],
    ["near misses", "DKIM_Signature: x\r\nDKIM-Signatura: y\r\nDKIN-Signature: z\r\n\r\n", false],
    ["latin1 letters are not ASCII letters", "\u00c4KIM-Signature: x\r\n\r\n", false],
  ];
  it.each(table)("%s", (_name, text, want) => {
    expect(mayHoldSignature(Buffer.from(text, "latin1"))).toBe(want);
  });

  it("never false where parseHeaderFields finds a DKIM-Signature field (random headers)", () => {
    let s = 9;
    const r = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const parts = ["DKIM", "dkim", "-", "Signature", "signature", "SIGNATURE", ":", " ", "\t", "\r\n", "\n", "X", "\u00ff", "a"];
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      const n = Math.floor(r() * 16);
      for (let k = 0; k < n; k++) text += parts[Math.floor(r() * parts.length)];
      const header = Buffer.from(text, "latin1");
      if (hasSignatureField(header)) expect(mayHoldSignature(header)).toBe(true);
    }
  });
});

describe("verifyMessage on an unsigned message", () => {
  const resolver = { txt: () => Promise.reject(new Error("no query expected")) };
  it("gives [] for a Buffer, a string and a stream alike", async () => {
    const msg = "From: a@b.test\r\nSubject: x\r\n\r\nbody\r\n";
    expect(await verifyMessage(Buffer.from(msg), { resolver })).toEqual([]);
    expect(await verifyMessage(msg, { resolver })).toEqual([]);
    async function* chunks(): AsyncIterable<Buffer> {
      yield await Promise.resolve(Buffer.from(msg.slice(0, 10)));
      yield Buffer.from(msg.slice(10));
    }
    expect(await verifyMessage(chunks(), { resolver })).toEqual([]);
  });
  it("still reports a header section over maxHeaderBytes", async () => {
    const msg = `From: a@b.test\r\nX: ${"y".repeat(200)}\r\n\r\nbody`;
    const got = await verifyMessage(Buffer.from(msg), { resolver, maxHeaderBytes: 100 });
    async function* stream(): AsyncIterable<Buffer> {
      yield await Promise.resolve(Buffer.from(msg));
    }
    expect(got).toHaveLength(1);
    expect(got[0]?.reason).toMatch(/too large/);
    expect(got).toEqual(await verifyMessage(stream(), { resolver, maxHeaderBytes: 100 }));
  });
  it("still validates its options", async () => {
    await expect(verifyMessage("From: a@b.test\r\n\r\n", { resolver, maxSignatures: -1 })).rejects.toThrow();
  });
});
