/**
 * Test helper: a DKIM-Signature with exactly the tags a test wants (rsa-sha1,
 * x=, odd c=, missing tags ...), signed correctly over whatever those tags
 * say, so that each verifier check can be hit on its own.
 */
import { createHash, type KeyObject, sign } from "node:crypto";
import { BodyCanonicalizer, BodyHash } from "../canon";
import { parseHeaderFields, splitWhole } from "../message";
import { parseSignature } from "../signature";
import { headerHashInput } from "../verify";

export interface RawSignOptions {
  /** Tags in order; bh= is computed when absent, b= always last. Values written as given. */
  readonly tags: ReadonlyArray<readonly [string, string]>;
  readonly key: KeyObject;
  /** For the body hash and the signature; default from a=. */
  readonly hash?: "sha256" | "sha1";
  /** Corrupt the signature after computing it. */
  readonly corrupt?: boolean;
}

export function signRaw(message: Buffer, o: RawSignOptions): string {
  const tag = (name: string): string | undefined => o.tags.find(([n]) => n === name)?.[1];
  const a = tag("a") ?? "rsa-sha256";
  const hash = o.hash ?? (a.endsWith("sha1") ? "sha1" : "sha256");
  const [hc = "simple", bc = "simple"] = (tag("c") ?? "simple/simple").split("/");
  const { header, body } = splitWhole(message, 1 << 20);
  const tags = [...o.tags];
  if (tag("bh") === undefined) {
    const canon = new BodyCanonicalizer(bc === "relaxed" ? "relaxed" : "simple");
    const l = tag("l");
    const bh = new BodyHash(hash, l === undefined ? undefined : Number(l));
    canon.addSink(bh);
    canon.update(body);
    canon.finish();
    tags.push(["bh", bh.digest().toString("base64")]);
  }
  const value = ` ${tags.map(([n, v]) => `${n}=${v}`).join("; ")}; b=`;
  const field = { name: "DKIM-Signature", lowerName: "dkim-signature", rawName: "DKIM-Signature", value };
  const h = (tag("h") ?? "from").split(":").map((x) => x.trim().toLowerCase());
  const parsed = parseSignature(`${value}AAAA`);
  const bStart = parsed.ok ? parsed.sig.bStart : value.length;
  const data = Buffer.from(headerHashInput(parseHeaderFields(header), { signedHeaders: h, headerCanon: hc === "relaxed" ? "relaxed" : "simple", bStart, bEnd: value.length }, field), "latin1");
  let b = o.key.asymmetricKeyType === "ed25519" ? sign(null, createHash("sha256").update(data).digest(), o.key) : sign(hash, data, o.key);
  if (o.corrupt === true) b = Buffer.from(b.map((x, i) => (i === 0 ? x ^ 1 : x)));
  return `DKIM-Signature:${value}${b.toString("base64")}\r\n`;
}
