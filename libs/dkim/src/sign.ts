/**
 * DKIM signing for outbound mail (RFC 6376 5): rsa-sha256 or ed25519-sha256
 * (RFC 8463), relaxed/relaxed by default, the configured header fields that
 * are present (each occurrence), From over-signed. The body is hashed as it
 * streams; only the header section is kept.
 */
import { createHash, createPrivateKey, type KeyObject, sign as cryptoSign } from "node:crypto";
import { BodyCanonicalizer, BodyHash } from "./canon";
import { DkimOptionsError, DkimSignError } from "./errors";
import { HeaderEndScanner, parseHeaderFields, toBuffer } from "./message";
import { isDnsName, isFieldName } from "./signature";
import { parseTagList } from "./tags";
import type { Canonicalization, DkimSignAlgorithm, MessageSource, SignOptions } from "./types";
import { DEFAULT_MAX_HEADER_BYTES, headerHashInput } from "./verify";

/** Fields signed by default when present (RFC 6376 5.4.1's list, plus MIME and list fields). */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  "from",
  "sender",
  "reply-to",
  "subject",
  "date",
  "message-id",
  "to",
  "cc",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "content-id",
  "content-description",
  "resent-date",
  "resent-from",
  "resent-sender",
  "resent-to",
  "resent-cc",
  "resent-message-id",
  "in-reply-to",
  "references",
  "list-id",
  "list-help",
  "list-unsubscribe",
  "list-unsubscribe-post",
  "list-subscribe",
  "list-post",
  "list-owner",
  "list-archive",
];

interface Prepared {
  readonly domain: string;
  readonly selector: string;
  readonly key: KeyObject;
  readonly algorithm: DkimSignAlgorithm;
  readonly headerCanon: Canonicalization;
  readonly bodyCanon: Canonicalization;
  readonly headers: ReadonlySet<string>;
  readonly oversign: readonly string[];
  readonly identity?: string;
  readonly bodyLength: boolean;
  readonly timestamp: boolean;
  readonly expiresIn?: number;
  readonly now: () => number;
  readonly maxHeaderBytes: number;
}

function loadPrivateKey(k: SignOptions["privateKey"]): KeyObject {
  if (typeof k === "object" && !Buffer.isBuffer(k)) return k;
  const text = Buffer.isBuffer(k) ? k.toString("latin1") : k;
  if (text.includes("-----BEGIN")) return createPrivateKey(text);
  // dkimpy's Ed25519 format: the 32-octet seed in base64.
  const seed = Buffer.from(text.trim(), "base64");
  if (seed.length !== 32) throw new Error("not PEM and not a base64 Ed25519 seed");
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
}

function prepare(options: SignOptions): Prepared {
  if (!isDnsName(options.domain ?? "")) throw new DkimOptionsError("domain", "not a domain name");
  if (!isDnsName(options.selector ?? "")) throw new DkimOptionsError("selector", "not a selector");
  let key: KeyObject;
  try {
    key = loadPrivateKey(options.privateKey);
  } catch (cause) {
    throw new DkimOptionsError("privateKey", "cannot load the private key", { cause });
  }
  if (key.type !== "private") throw new DkimOptionsError("privateKey", "not a private key");
  const keyAlg: DkimSignAlgorithm | undefined = key.asymmetricKeyType === "rsa" ? "rsa-sha256" : key.asymmetricKeyType === "ed25519" ? "ed25519-sha256" : undefined;
  if (keyAlg === undefined) throw new DkimOptionsError("privateKey", "only RSA and Ed25519 keys can sign");
  const algorithm = options.algorithm ?? keyAlg;
  if (algorithm !== keyAlg) throw new DkimOptionsError("algorithm", `${algorithm} does not match the ${key.asymmetricKeyType} key`);
  const [hc, bc, extra] = (options.canonicalization ?? "relaxed/relaxed").split("/");
  const canon = (v: string | undefined): v is Canonicalization => v === "simple" || v === "relaxed";
  if (!canon(hc) || !canon(bc) || extra !== undefined) throw new DkimOptionsError("canonicalization", "must be simple|relaxed/simple|relaxed");
  const headers = new Set((options.headers ?? DEFAULT_SIGNED_HEADERS).map((h) => h.toLowerCase()));
  headers.add("from");
  const oversign = (options.oversign ?? ["from"]).map((h) => h.toLowerCase());
  for (const h of [...headers, ...oversign]) if (!isFieldName(h)) throw new DkimOptionsError("headers", "invalid field name");
  if (options.identity !== undefined) {
    const at = options.identity.lastIndexOf("@");
    const d = options.identity.slice(at + 1).toLowerCase();
    const dom = options.domain.toLowerCase();
    const ok = at >= 0 && isDnsName(d) && (d === dom || d.endsWith(`.${dom}`)) && parseTagList(`i=${options.identity}`).ok && !/[\s;]/.test(options.identity);
    if (!ok) throw new DkimOptionsError("identity", "must be [local]@domain in d= or below it");
  }
  if (options.expiresIn !== undefined && (!Number.isInteger(options.expiresIn) || options.expiresIn <= 0)) throw new DkimOptionsError("expiresIn", "must be a positive integer");
  return {
    domain: options.domain,
    selector: options.selector,
    key,
    algorithm,
    headerCanon: hc,
    bodyCanon: bc,
    headers,
    oversign,
    ...(options.identity !== undefined && { identity: options.identity }),
    bodyLength: options.bodyLength ?? false,
    timestamp: options.timestamp ?? true,
    ...(options.expiresIn !== undefined && { expiresIn: options.expiresIn }),
    now: options.now ?? Date.now,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
  };
}

/**
 * An incremental signer: `update(chunk)` with the message in pieces, then
 * `finish()` for the `DKIM-Signature: ...\r\n` field to prepend. Options are
 * checked (and the key loaded) by the constructor, which throws
 * DkimOptionsError.
 */
export class DkimSigner {
  private readonly p: Prepared;
  private readonly scan = new HeaderEndScanner();
  private readonly headerParts: Buffer[] = [];
  private headerSize = 0;
  private inBody = false;
  private readonly canon: BodyCanonicalizer;
  private readonly bodyHash: BodyHash;

  constructor(options: SignOptions) {
    this.p = prepare(options);
    this.canon = new BodyCanonicalizer(this.p.bodyCanon);
    this.bodyHash = new BodyHash("sha256");
    this.canon.addSink(this.bodyHash);
  }

  update(chunk: Buffer | Uint8Array | string): void {
    const buf = toBuffer(chunk);
    if (this.inBody) {
      this.canon.update(buf);
      return;
    }
    const end = this.scan.feed(buf);
    const head = end === -1 ? buf : buf.subarray(0, end);
    this.headerSize += head.length;
    if (this.headerSize > this.p.maxHeaderBytes) throw new DkimSignError("header section too large");
    this.headerParts.push(head);
    if (end !== -1) {
      this.inBody = true;
      this.canon.update(buf.subarray(end));
    }
  }

  finish(): string {
    const p = this.p;
    this.canon.finish();
    const fields = parseHeaderFields(Buffer.concat(this.headerParts));
    if (!fields.some((f) => f.lowerName === "from")) throw new DkimSignError("the message has no From field");
    const h: string[] = [];
    for (const f of fields) if (p.headers.has(f.lowerName)) h.push(f.lowerName);
    for (const name of p.oversign) h.push(name);
    const bh = this.bodyHash.digest().toString("base64");
    const t = Math.floor(p.now() / 1000);
    const tags: string[] = [`v=1`, `a=${p.algorithm}`, `c=${p.headerCanon}/${p.bodyCanon}`, `d=${p.domain}`, `s=${p.selector}`];
    if (p.identity !== undefined) tags.push(`i=${p.identity}`);
    if (p.bodyLength) tags.push(`l=${this.bodyHash.length}`);
    if (p.timestamp) tags.push(`t=${t}`);
    if (p.expiresIn !== undefined) tags.push(`x=${t + p.expiresIn}`);
    tags.push(`h=${h.join(":")}`, `bh=${bh}`);
    const value = ` ${fold(tags)};\r\n\tb=`;
    const field = { name: "DKIM-Signature", lowerName: "dkim-signature", rawName: "DKIM-Signature", value };
    const data = Buffer.from(headerHashInput(fields, { signedHeaders: h, headerCanon: p.headerCanon, bStart: value.length, bEnd: value.length }, field), "latin1");
    const signature =
      p.algorithm === "ed25519-sha256" ? cryptoSign(null, createHash("sha256").update(data).digest(), p.key) : cryptoSign("sha256", data, p.key);
    const b = signature.toString("base64");
    let folded = "";
    for (let i = 0; i < b.length; i += 72) folded += (i === 0 ? "" : "\r\n\t ") + b.slice(i, i + 72);
    return `DKIM-Signature:${value}${folded}\r\n`;
  }
}

/** Joins tags with "; ", starting a new line (CRLF TAB) before a tag that would pass 76 columns; h= is folded at colons. */
function fold(tags: readonly string[]): string {
  let out = "";
  let col = "DKIM-Signature: ".length;
  for (let i = 0; i < tags.length; i++) {
    const sep = i === 0 ? "" : ";";
    const tag = tags[i] as string;
    if (i > 0 && col + 2 + tag.length > 76) {
      out += `${sep}\r\n\t`;
      col = 8;
    } else if (i > 0) {
      out += `${sep} `;
      col += 2;
    }
    if (tag.startsWith("h=") && col + tag.length > 76) {
      const names = tag.slice(2).split(":");
      out += "h=";
      col += 2;
      names.forEach((n, k) => {
        const piece = k === 0 ? n : `:${n}`;
        if (k > 0 && col + piece.length > 76) {
          out += "\r\n\t ";
          col = 9;
        }
        out += piece;
        col += piece.length;
      });
    } else {
      out += tag;
      col += tag.length;
    }
  }
  return out;
}

/** Signs a whole message; returns the complete `DKIM-Signature: ...\r\n` field to prepend. Throws DkimOptionsError/DkimSignError. */
export function signMessage(message: Buffer | Uint8Array | string, options: SignOptions): string {
  const signer = new DkimSigner(options);
  signer.update(message);
  return signer.finish();
}

/** Signs a message read from a stream (the body is hashed as it arrives, never held). */
export async function signStream(message: MessageSource, options: SignOptions): Promise<string> {
  const signer = new DkimSigner(options);
  if (typeof message === "object" && message !== null && Symbol.asyncIterator in message) {
    for await (const chunk of message as AsyncIterable<Buffer | Uint8Array | string>) signer.update(chunk);
  } else signer.update(message);
  return signer.finish();
}
