/** OCSP requests (RFC 6960 4.1) for one certificate, with an optional nonce (RFC 8954). */
import { randomBytes } from "node:crypto";
import { CertID, id_pkix_ocsp_nonce, OCSPRequest, Request, TBSRequest } from "@peculiar/asn1-ocsp";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, Extension } from "@peculiar/asn1-x509";
import { type CertPair } from "./certs";

export const OID_SHA1 = "1.3.14.3.2.26";
/** RFC 8954: a nonce is 1 to 32 octets. */
export const NONCE_BYTES = 16;
export const MAX_NONCE_BYTES = 32;

export interface OcspRequest {
  /** DER, to POST as application/ocsp-request */
  der: Buffer;
  /** the nonce extension's value (DER of the OCTET STRING) when one was sent; give it to verifyResponse */
  nonce?: Buffer;
}

const toArrayBuffer = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** The SHA-1 CertID every responder understands (RFC 5019 2.1.1). */
export function certIdOf(pair: CertPair): CertID {
  return new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: OID_SHA1, parameters: null }),
    issuerNameHash: new OctetString(pair.issuerNameHash),
    issuerKeyHash: new OctetString(pair.issuerKeyHash),
    serialNumber: toArrayBuffer(pair.leaf.serial),
  });
}

/**
 * A request for `pair.leaf`. `nonce: true` adds 16 random octets, a Uint8Array adds those
 * (1-32 octets); the default sends none, which lets caching responders answer (RFC 5019).
 */
export function buildRequest(pair: CertPair, opts: { nonce?: boolean | Uint8Array } = {}): OcspRequest {
  let nonce: Buffer | undefined;
  if (opts.nonce === true) nonce = randomBytes(NONCE_BYTES);
  else if (opts.nonce instanceof Uint8Array) nonce = Buffer.from(opts.nonce);
  if (nonce !== undefined && (nonce.length === 0 || nonce.length > MAX_NONCE_BYTES)) {
    throw new RangeError(`nonce must be 1..${MAX_NONCE_BYTES} octets`);
  }
  const nonceValue = nonce === undefined ? undefined : Buffer.from(AsnConvert.serialize(new OctetString(nonce)));
  const tbsRequest = new TBSRequest({
    requestList: [new Request({ reqCert: certIdOf(pair) })],
    requestExtensions:
      nonceValue === undefined
        ? undefined
        : [new Extension({ extnID: id_pkix_ocsp_nonce, critical: false, extnValue: new OctetString(nonceValue) })],
  });
  const der = Buffer.from(AsnConvert.serialize(new OCSPRequest({ tbsRequest })));
  return nonceValue === undefined ? { der } : { der, nonce: nonceValue };
}
