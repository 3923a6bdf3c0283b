/**
 * Certificates as OCSP needs them: the exact issuer name and key bits (hashed into the
 * CertID), the serial, validity, the AIA OCSP URLs and the extended key usages.
 */
import { X509Certificate } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AuthorityInfoAccessSyntax,
  ExtendedKeyUsage,
  Extension,
  id_ad_ocsp,
  id_ce_extKeyUsage,
  id_pe_authorityInfoAccess,
  Validity,
} from "@peculiar/asn1-x509";
import { bitStringBytes, child, children, content, DerError, readOnly, readTlv, serialHex, sha1, TAG, type Tlv, whole } from "./der";
import { OcspCertificateError } from "./errors";

/** Certificates larger than this are refused (an edge's leaf and issuer are a few KiB). */
export const MAX_CERT_BYTES = 16 * 1024;
const MAX_URLS = 8;
const MAX_EXTENSIONS = 32;

export interface CertInfo {
  der: Buffer;
  x509: X509Certificate;
  /** subject as text, for messages */
  subject: string;
  /** DER of the subject Name, as encoded in the certificate */
  subjectDer: Buffer;
  /** DER of the issuer Name, as encoded in the certificate */
  issuerNameDer: Buffer;
  /** content octets of the serial INTEGER */
  serial: Buffer;
  /** the subjectPublicKey BIT STRING's bits (what the issuer key hash covers) */
  publicKeyBits: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** extended key usage OIDs; undefined without the extension */
  extKeyUsage: string[] | undefined;
  /** http(s) URLs of the AIA id-ad-ocsp entries, in certificate order */
  ocspUrls: string[];
}

/** A leaf and the certificate that issued it, checked to belong together. */
export interface CertPair {
  leaf: CertInfo;
  issuer: CertInfo;
  /** SHA-1 of the issuer's subject Name DER */
  issuerNameHash: Buffer;
  /** SHA-1 of the issuer's public key bits */
  issuerKeyHash: Buffer;
  /** upper-case hex of the leaf serial */
  serialHex: string;
}

export function parseCertificate(der: Uint8Array, which: "leaf" | "issuer"): CertInfo {
  if (der.length === 0) throw new OcspCertificateError(which, "empty");
  if (der.length > MAX_CERT_BYTES) throw new OcspCertificateError(which, `${der.length} bytes exceeds ${MAX_CERT_BYTES}`);
  const buf = Buffer.from(der);
  try {
    const cert = readOnly(buf, TAG.sequence);
    const tbs = child(children(buf, cert), 0, TAG.sequence, "tbsCertificate");
    const parts = children(buf, tbs);
    const first = parts[0]?.tag === TAG.context0 ? 1 : 0; // [0] version
    const serial = child(parts, first, TAG.integer, "serialNumber");
    const issuer = child(parts, first + 2, TAG.sequence, "issuer");
    const subject = child(parts, first + 4, TAG.sequence, "subject");
    const spki = child(parts, first + 5, TAG.sequence, "subjectPublicKeyInfo");
    const key = child(children(buf, spki), 1, TAG.bitString, "subjectPublicKey");
    const validity = AsnConvert.parse(whole(buf, child(parts, first + 3, TAG.sequence, "validity")), Validity);
    const x509 = new X509Certificate(buf);
    // Only the extensions go through the schema parser, one by one (a whole certificate is slow).
    const extensions = extensionsOf(buf, parts.slice(first + 6));
    const eku = extensions.find((e) => e.extnID === id_ce_extKeyUsage);
    const aia = extensions.find((e) => e.extnID === id_pe_authorityInfoAccess);
    return {
      der: buf,
      x509,
      subject: x509.subject.replace(/\n/g, ", "),
      subjectDer: whole(buf, subject),
      issuerNameDer: whole(buf, issuer),
      serial: content(buf, serial),
      publicKeyBits: bitStringBytes(buf, key),
      notBefore: validity.notBefore.getTime(),
      notAfter: validity.notAfter.getTime(),
      extKeyUsage: eku === undefined ? undefined : [...AsnConvert.parse(eku.extnValue, ExtendedKeyUsage)],
      ocspUrls: aia === undefined ? [] : ocspUrlsOf(AsnConvert.parse(aia.extnValue, AuthorityInfoAccessSyntax)),
    };
  } catch (err) {
    if (err instanceof OcspCertificateError) throw err;
    const reason = err instanceof DerError ? err.message : "not a DER X.509 certificate";
    throw new OcspCertificateError(which, reason, { cause: err });
  }
}

/** The Extension list from [3] among the optional tail of tbsCertificate. */
function extensionsOf(buf: Buffer, tail: Tlv[]): Extension[] {
  const explicit = tail.find((t) => t.tag === TAG.context3);
  if (explicit === undefined) return [];
  const seq = readTlv(buf, explicit.contentStart, explicit.end);
  if (seq.tag !== TAG.sequence || seq.end !== explicit.end) throw new DerError("extensions: expected one SEQUENCE");
  return children(buf, seq, MAX_EXTENSIONS).map((ext) => AsnConvert.parse(whole(buf, ext), Extension));
}

function ocspUrlsOf(aia: AuthorityInfoAccessSyntax): string[] {
  const urls: string[] = [];
  for (const desc of aia) {
    const uri = desc.accessLocation.uniformResourceIdentifier;
    if (desc.accessMethod !== id_ad_ocsp || uri === undefined || !/^https?:\/\//i.test(uri)) continue;
    if (urls.length < MAX_URLS) urls.push(uri);
  }
  return urls;
}

/** Checks that `issuer` issued `leaf` (name and signature) and derives the CertID parts. */
export function prepareCertificates(leafDer: Uint8Array, issuerDer: Uint8Array): CertPair {
  const leaf = parseCertificate(leafDer, "leaf");
  const issuer = parseCertificate(issuerDer, "issuer");
  if (!leaf.issuerNameDer.equals(issuer.subjectDer)) {
    throw new OcspCertificateError("leaf", `issued by another name than ${issuer.subject}`);
  }
  let signed = false;
  try {
    signed = leaf.x509.verify(issuer.x509.publicKey);
  } catch {
    signed = false;
  }
  if (!signed) throw new OcspCertificateError("leaf", `signature does not verify with the key of ${issuer.subject}`);
  return {
    leaf,
    issuer,
    issuerNameHash: sha1(issuer.subjectDer),
    issuerKeyHash: sha1(issuer.publicKeyBits),
    serialHex: serialHex(leaf.serial),
  };
}
