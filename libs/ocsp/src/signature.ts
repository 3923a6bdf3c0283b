/** Signature algorithms accepted on OCSP responses, checked with node:crypto. */
import { verify, type KeyObject } from "node:crypto";
import { OcspUnsupportedAlgorithmError } from "./errors";

interface Algorithm {
  hash: string | null;
  key: "ec" | "rsa" | "ed25519" | "ed448";
}

/**
 * SHA-2 with ECDSA or RSA PKCS#1 v1.5, and EdDSA. SHA-1 signatures are refused (the CA/Browser
 * Forum baseline requirements forbid them for OCSP responses); RSA-PSS is not supported.
 */
export const SIGNATURE_ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  "1.2.840.10045.4.3.2": { hash: "sha256", key: "ec" },
  "1.2.840.10045.4.3.3": { hash: "sha384", key: "ec" },
  "1.2.840.10045.4.3.4": { hash: "sha512", key: "ec" },
  "1.2.840.113549.1.1.11": { hash: "sha256", key: "rsa" },
  "1.2.840.113549.1.1.12": { hash: "sha384", key: "rsa" },
  "1.2.840.113549.1.1.13": { hash: "sha512", key: "rsa" },
  "1.3.101.112": { hash: null, key: "ed25519" },
  "1.3.101.113": { hash: null, key: "ed448" },
};

/** True when `signature` over `data` verifies with `key` under `oid`; throws for algorithms we refuse. */
export function verifySignature(oid: string, data: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  const alg = SIGNATURE_ALGORITHMS[oid];
  if (alg === undefined) throw new OcspUnsupportedAlgorithmError(oid);
  if (key.asymmetricKeyType !== alg.key) return false;
  try {
    return verify(alg.hash, data, key, signature);
  } catch {
    return false;
  }
}
