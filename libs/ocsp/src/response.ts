/**
 * Parsing an OCSPResponse (RFC 6960 4.2.1) into the parts verification needs. The signed
 * bytes, the responder id and the embedded certificates are taken from the DER as received.
 */
import { id_pkix_ocsp_nonce, OCSPResponseStatus, ResponseData } from "@peculiar/asn1-ocsp";
import { AsnConvert } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, type Extension } from "@peculiar/asn1-x509";
import { bitStringBytes, child, children, content, DerError, readOnly, readTlv, TAG, whole } from "./der";
import { OcspMalformedError, OcspResponderStatusError, OcspTooLargeError } from "./errors";

/** Default cap on a response (a basic response with a signer certificate is 1-3 KiB). */
export const MAX_RESPONSE_BYTES = 64 * 1024;
export const MAX_RESPONSE_CERTS = 8;
export const MAX_SINGLE_RESPONSES = 64;
const MAX_EXTENSIONS = 16;
/** content octets of id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1 */
const OID_BASIC = Buffer.from("2b0601050507300101", "hex");

export interface ParsedResponse {
  /** DER of tbsResponseData, as signed */
  tbsRaw: Buffer;
  data: ResponseData;
  responderId: { byName?: Buffer; byKey?: Buffer };
  signatureAlgorithm: string;
  signature: Buffer;
  /** DER of each certificate in `certs` */
  certs: Buffer[];
  /** value of the nonce extension (DER of the OCTET STRING) when present */
  nonce?: Buffer;
}

function statusName(status: number): string {
  return (OCSPResponseStatus as unknown as Record<number, string | undefined>)[status] ?? `status ${status}`;
}

function checkExtensions(list: Extension[] | undefined, where: string): void {
  if (list === undefined) return;
  if (list.length > MAX_EXTENSIONS) throw new OcspMalformedError(`more than ${MAX_EXTENSIONS} ${where} extensions`);
  for (const ext of list) {
    if (ext.critical && ext.extnID !== id_pkix_ocsp_nonce) {
      throw new OcspMalformedError(`unsupported critical ${where} extension ${ext.extnID}`);
    }
  }
}

/** Throws OcspTooLargeError, OcspResponderStatusError (not "successful") or OcspMalformedError. */
export function parseResponse(der: Uint8Array, maxBytes: number = MAX_RESPONSE_BYTES): ParsedResponse {
  if (der.length > maxBytes) throw new OcspTooLargeError(der.length, maxBytes);
  const buf = Buffer.from(der);
  let status: number;
  let type: Buffer | undefined;
  let basic: Buffer | undefined;
  try {
    const parts = children(buf, readOnly(buf, TAG.sequence), 2);
    const enumerated = content(buf, child(parts, 0, TAG.enumerated, "responseStatus"));
    if (enumerated.length !== 1) throw new DerError("responseStatus: expected one octet");
    status = enumerated[0] as number;
    const explicit = parts[1];
    if (explicit !== undefined) {
      if (explicit.tag !== TAG.context0) throw new DerError("responseBytes: expected [0]");
      const seq = readTlv(buf, explicit.contentStart, explicit.end);
      if (seq.tag !== TAG.sequence || seq.end !== explicit.end) throw new DerError("responseBytes: expected one SEQUENCE");
      const rb = children(buf, seq, 2);
      type = content(buf, child(rb, 0, TAG.oid, "responseType"));
      basic = content(buf, child(rb, 1, TAG.octetString, "response"));
    }
  } catch (err) {
    throw new OcspMalformedError(err instanceof DerError ? err.message : "not a DER OCSPResponse", { cause: err });
  }
  if (status !== (OCSPResponseStatus.successful as number)) throw new OcspResponderStatusError(statusName(status));
  if (basic === undefined || type === undefined) throw new OcspMalformedError("successful response without responseBytes");
  if (!type.equals(OID_BASIC)) throw new OcspMalformedError(`response type is not id-pkix-ocsp-basic (${type.toString("hex")})`);
  try {
    return parseBasic(basic);
  } catch (err) {
    if (err instanceof OcspMalformedError) throw err;
    throw new OcspMalformedError(err instanceof DerError ? err.message : "not a DER BasicOCSPResponse", { cause: err });
  }
}

function parseBasic(buf: Buffer): ParsedResponse {
  const parts = children(buf, readOnly(buf, TAG.sequence), 4);
  const tbs = child(parts, 0, TAG.sequence, "tbsResponseData");
  const signature = bitStringBytes(buf, child(parts, 2, TAG.bitString, "signature"));
  const certs: Buffer[] = [];
  const explicit = parts[3];
  if (explicit !== undefined) {
    if (explicit.tag !== TAG.context0) throw new DerError("certs: expected [0]");
    const seq = readTlv(buf, explicit.contentStart, explicit.end);
    if (seq.tag !== TAG.sequence || seq.end !== explicit.end) throw new DerError("certs: expected one SEQUENCE");
    for (const c of children(buf, seq, MAX_RESPONSE_CERTS)) certs.push(whole(buf, c));
  }
  const tbsParts = children(buf, tbs, 8);
  const rid = tbsParts[tbsParts[0]?.tag === TAG.context0 ? 1 : 0];
  const responderId: ParsedResponse["responderId"] = {};
  if (rid?.tag === TAG.context1) {
    responderId.byName = whole(buf, readTlv(buf, rid.contentStart, rid.end));
  } else if (rid?.tag === TAG.context2) {
    const hash = readTlv(buf, rid.contentStart, rid.end);
    if (hash.tag !== TAG.octetString) throw new DerError("responderID byKey: expected OCTET STRING");
    responderId.byKey = content(buf, hash);
  } else {
    throw new DerError("responderID: expected [1] or [2]");
  }
  const tbsRaw = whole(buf, tbs);
  // Only the parts we read go through the schema parser (certificates are parsed on demand).
  const data = AsnConvert.parse(tbsRaw, ResponseData);
  const algorithm = AsnConvert.parse(whole(buf, child(parts, 1, TAG.sequence, "signatureAlgorithm")), AlgorithmIdentifier);
  const version = data.version as number;
  if (version !== 0) throw new OcspMalformedError(`ResponseData version ${version}`);
  if (data.responses.length === 0) throw new OcspMalformedError("no responses");
  if (data.responses.length > MAX_SINGLE_RESPONSES) throw new OcspMalformedError(`more than ${MAX_SINGLE_RESPONSES} responses`);
  checkExtensions(data.responseExtensions, "response");
  for (const single of data.responses) checkExtensions(single.singleExtensions, "single response");
  const nonceExt = data.responseExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
  const parsed: ParsedResponse = {
    tbsRaw,
    data,
    responderId,
    signatureAlgorithm: algorithm.algorithm,
    signature,
    certs,
  };
  if (nonceExt !== undefined) parsed.nonce = Buffer.from(nonceExt.extnValue.buffer);
  return parsed;
}
