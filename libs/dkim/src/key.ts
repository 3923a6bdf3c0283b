/**
 * DKIM key records (RFC 6376 3.6.1, RFC 8463 for k=ed25519) parsed into a
 * typed structure, and the checks of a key against a signature (6.1.2).
 *
 * SECURITY: the record is hostile (anybody's TXT record). It goes through the
 * linear tag scanner (tags.ts); p= is decoded as strict base64 and handed to
 * node:crypto, which parses the DER; a record over 8 KiB is refused before
 * parsing. Parsed keys are cached by p= text in a small bounded map, so a
 * flood of distinct keys costs at most one parse each and bounded memory.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { dkimErrorCodes, DkimVerifyError } from "./errors";
import { decodeBase64, parseTagList, splitColonList, stripFws } from "./tags";

export interface DkimKey {
  readonly keyType: "rsa" | "ed25519";
  /** Hash algorithms the key accepts (h=), lower-cased; undefined: any. */
  readonly hashes?: readonly string[];
  /** t=y */
  readonly testing: boolean;
  /** t=s: i= must be in exactly d=, not a subdomain. */
  readonly strict: boolean;
  readonly publicKey: KeyObject;
  /** RSA modulus length, or 256 for Ed25519. */
  readonly bits: number;
}

export type KeyParse = { readonly ok: true; readonly key: DkimKey } | { readonly ok: false; readonly error: DkimVerifyError };

export const MAX_KEY_RECORD = 8192;
const CACHE_MAX = 256;
const keyCache = new Map<string, { publicKey: KeyObject; bits: number } | null>();

function syntax(reason: string): KeyParse {
  return { ok: false, error: new DkimVerifyError(dkimErrorCodes.keySyntax, reason) };
}

/** Parses one key record (the TXT strings joined with ""). */
export function parseKeyRecord(text: string): KeyParse {
  if (text.length > MAX_KEY_RECORD) return syntax("key record too long");
  const list = parseTagList(text);
  if (!list.ok) return syntax(`malformed key record: ${list.reason}`);
  const tags = list.tags;
  const v = tags.get("v");
  if (v !== undefined) {
    // RFC 6376 3.6.1: if present, v= must be first and exactly "DKIM1".
    if (v.value !== "DKIM1") return syntax("key record has v= other than DKIM1");
    if (tags.keys().next().value !== "v") return syntax("v= is not the first tag of the key record");
  }
  const k = (tags.get("k")?.value ?? "rsa").toLowerCase();
  if (k !== "rsa" && k !== "ed25519") return { ok: false, error: new DkimVerifyError(dkimErrorCodes.keyMismatch, "unsupported key type k=") };
  const p = tags.get("p");
  if (p === undefined) return syntax("key record has no p=");
  const pText = stripFws(p.value);
  if (pText === "") return { ok: false, error: new DkimVerifyError(dkimErrorCodes.keyRevoked, "key revoked (empty p=)") };

  const hTag = tags.get("h");
  const hashes = hTag === undefined ? undefined : splitColonList(hTag.value).map((x) => x.toLowerCase());
  const sTag = tags.get("s");
  if (sTag !== undefined) {
    const services = splitColonList(sTag.value).map((x) => x.toLowerCase());
    if (!services.includes("*") && !services.includes("email")) {
      return { ok: false, error: new DkimVerifyError(dkimErrorCodes.keyMismatch, "key is not for email (s=)") };
    }
  }
  const flags = tags.get("t") === undefined ? [] : splitColonList(tags.get("t")!.value).map((x) => x.toLowerCase());

  const loaded = loadKey(k, pText);
  if (loaded === null) return syntax(k === "ed25519" ? "p= is not an Ed25519 public key" : "p= is not an RSA public key");
  return {
    ok: true,
    key: {
      keyType: k,
      ...(hashes !== undefined && { hashes }),
      testing: flags.includes("y"),
      strict: flags.includes("s"),
      publicKey: loaded.publicKey,
      bits: loaded.bits,
    },
  };
}

function loadKey(k: "rsa" | "ed25519", p: string): { publicKey: KeyObject; bits: number } | null {
  const cacheKey = `${k}:${p}`;
  const hit = keyCache.get(cacheKey);
  if (hit !== undefined) return hit;
  const loaded = decodeKey(k, p);
  if (keyCache.size >= CACHE_MAX) keyCache.clear();
  keyCache.set(cacheKey, loaded);
  return loaded;
}

function decodeKey(k: "rsa" | "ed25519", p: string): { publicKey: KeyObject; bits: number } | null {
  const der = decodeBase64(p);
  if (der === undefined) return null;
  if (k === "ed25519") {
    // RFC 8463: the bare 32-octet key. Some publish SubjectPublicKeyInfo instead; accept that too.
    try {
      const publicKey =
        der.length === 32
          ? createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: der.toString("base64url") }, format: "jwk" })
          : createPublicKey({ key: der, format: "der", type: "spki" });
      return publicKey.asymmetricKeyType === "ed25519" ? { publicKey, bits: 256 } : null;
    } catch {
      return null;
    }
  }
  // RFC 6376 says SubjectPublicKeyInfo; bare PKCS#1 RSAPublicKey is common in the wild (stalwart 002).
  for (const type of ["spki", "pkcs1"] as const) {
    try {
      const publicKey = createPublicKey({ key: der, format: "der", type });
      if (publicKey.asymmetricKeyType !== "rsa") return null;
      return { publicKey, bits: publicKey.asymmetricKeyDetails?.modulusLength ?? 0 };
    } catch {
      // try the next form
    }
  }
  return null;
}

/** Checks a usable key against the signature that refers to it (RFC 6376 6.1.2). */
export function checkKeyFits(key: DkimKey, sig: { keyType: string; hash: string; identityDomain: string; domain: string }): DkimVerifyError | undefined {
  if (key.keyType !== sig.keyType) return new DkimVerifyError(dkimErrorCodes.keyMismatch, `key type ${key.keyType} does not match a=`);
  if (key.hashes !== undefined && !key.hashes.includes(sig.hash)) return new DkimVerifyError(dkimErrorCodes.keyMismatch, `key does not allow ${sig.hash} (h=)`);
  if (key.strict && sig.identityDomain !== sig.domain) return new DkimVerifyError(dkimErrorCodes.keyMismatch, "key requires i= in exactly d= (t=s)");
  return undefined;
}
