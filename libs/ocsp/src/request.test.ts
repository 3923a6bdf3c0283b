import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildRequest, MAX_CERT_BYTES, OcspCertificateError, OcspErrorCode, prepareCertificates } from "./index";
import { makePki, type Pki } from "./testing/pki";

let pki: Pki;
beforeAll(() => {
  pki = makePki(18123);
});
afterAll(() => pki.remove());

describe("prepareCertificates", () => {
  test("derives the CertID parts and the AIA OCSP URL", () => {
    const pair = prepareCertificates(pki.der("good"), pki.der("ca"));
    expect(pair.leaf.ocspUrls).toEqual(["http://127.0.0.1:18123/"]);
    expect(pair.serialHex).toMatch(/^[0-9A-F]+$/);
    expect(pair.issuerNameHash).toHaveLength(20);
    expect(pair.issuerKeyHash).toHaveLength(20);
    expect(prepareCertificates(pki.der("noaia"), pki.der("ca")).leaf.ocspUrls).toEqual([]);
    expect(prepareCertificates(pki.der("unknown"), pki.der("ca")).serialHex).toBe("DEAD01");
  });

  const bad: Array<[string, () => [Buffer, Buffer], string]> = [
    ["leaf from another issuer", () => [pki.der("good"), pki.der("other-ca")], "leaf certificate: issued by another name"],
    ["leaf is the issuer's sibling", () => [pki.der("good"), pki.der("other")], "leaf certificate: issued by another name"],
    ["garbage leaf", () => [Buffer.from("not a certificate"), pki.der("ca")], "leaf certificate:"],
    ["empty issuer", () => [pki.der("good"), Buffer.alloc(0)], "issuer certificate: empty"],
    ["oversized leaf", () => [Buffer.alloc(MAX_CERT_BYTES + 1, 0x30), pki.der("ca")], "leaf certificate: 16385 bytes"],
    ["trailing byte", () => [Buffer.concat([pki.der("good"), Buffer.of(0)]), pki.der("ca")], "leaf certificate: 1 trailing bytes"],
  ];
  test.each(bad)("%s", (_name, make, message) => {
    const [leaf, issuer] = make();
    let err: unknown;
    try {
      prepareCertificates(leaf, issuer);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OcspCertificateError);
    expect((err as OcspCertificateError).code).toBe(OcspErrorCode.Certificate);
    expect((err as Error).message).toContain(message);
  });

  test("an issuer with the right name but another key", () => {
    expect(() => prepareCertificates(pki.der("good"), pki.der("impostor-ca"))).toThrow(/signature does not verify/);
    expect(() => prepareCertificates(pki.der("other-signer"), pki.der("other-ca"))).not.toThrow();
  });
});

describe("buildRequest", () => {
  test("is byte for byte what openssl ocsp -no_nonce sends", () => {
    const pair = prepareCertificates(pki.der("good"), pki.der("ca"));
    const ref = join(pki.dir, "ref-req.der");
    execFileSync("openssl", ["ocsp", "-issuer", join(pki.dir, "ca.crt"), "-cert", join(pki.dir, "good.crt"), "-no_nonce", "-reqout", ref]);
    expect(buildRequest(pair).der.toString("hex")).toBe(readFileSync(ref).toString("hex"));
  });

  test("a nonce is an RFC 8954 extension openssl reads", () => {
    const pair = prepareCertificates(pki.der("good"), pki.der("ca"));
    const req = buildRequest(pair, { nonce: Buffer.from("0102030405060708090a0b0c0d0e0f10", "hex") });
    expect(req.nonce?.toString("hex")).toBe("04100102030405060708090a0b0c0d0e0f10");
    const file = join(pki.dir, "nonce-req.der");
    writeFileSync(file, req.der);
    const text = execFileSync("openssl", ["ocsp", "-reqin", file, "-req_text"]).toString();
    expect(text).toContain("OCSP Nonce");
    expect(text).toContain(`Serial Number: ${pair.serialHex}`);
    expect(buildRequest(pair, { nonce: true }).nonce).toHaveLength(18);
    expect(() => buildRequest(pair, { nonce: Buffer.alloc(33) })).toThrow(RangeError);
  });
});
