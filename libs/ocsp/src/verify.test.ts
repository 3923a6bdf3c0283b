import { buildRequest, evaluateResponse, OcspErrorCode, parseResponse, prepareCertificates, type CertPair, type VerifyOptions } from "./index";
import { makePki, type CertName, type Pki, type RespondOptions } from "./testing/pki";

let pki: Pki;
const pairs = new Map<CertName, CertPair>();
const pairOf = (leaf: CertName): CertPair => {
  let pair = pairs.get(leaf);
  if (pair === undefined) {
    pair = prepareCertificates(pki.der(leaf), pki.der("ca"));
    pairs.set(leaf, pair);
  }
  return pair;
};

beforeAll(() => {
  pki = makePki();
  pki.revoke("flip");
});
afterAll(() => pki.remove());

const MIN = 60_000;

interface Case {
  name: string;
  respond: RespondOptions;
  /** certificate the response is checked for (default: the one asked about, else "good") */
  checkFor?: CertName;
  /** options relative to the response: now = thisUpdate + nowOffset (default +1 s) */
  nowOffset?: number;
  opts?: Partial<VerifyOptions>;
  tamper?: (der: Buffer) => Buffer;
  wantKind: "good" | "revoked" | "unknown" | "invalid";
  wantCode?: OcspErrorCode;
  wantSigner?: "issuer" | "delegated";
}

const flipLast = (der: Buffer): Buffer => {
  const out = Buffer.from(der);
  out[out.length - 1] = (out[out.length - 1] as number) ^ 0x01;
  return out;
};

const cases: Case[] = [
  { name: "delegated signer, good", respond: { ndays: 1 }, wantKind: "good", wantSigner: "delegated" },
  { name: "signed by the issuer", respond: { signer: "ca", nmin: 10 }, wantKind: "good", wantSigner: "issuer" },
  { name: "issuer, no certs, responder id by key", respond: { signer: "ca", nmin: 10, noCerts: true, keyId: true }, wantKind: "good", wantSigner: "issuer" },
  { name: "delegated, responder id by key", respond: { ndays: 1, keyId: true }, wantKind: "good", wantSigner: "delegated" },
  { name: "revoked", respond: { cert: "flip", ndays: 1 }, wantKind: "revoked" },
  { name: "unknown", respond: { cert: "unknown", ndays: 1 }, wantKind: "unknown" },
  { name: "short-lived signer covering the response", respond: { signer: "signer-short", nmin: 5 }, wantKind: "good" },
  { name: "thisUpdate within the skew", respond: { ndays: 1 }, nowOffset: -2 * MIN, wantKind: "good" },
  // Done-when 2 of issue 11
  { name: "bad signature", respond: { signer: "ca", nmin: 10, noCerts: true }, tamper: flipLast, wantKind: "invalid", wantCode: OcspErrorCode.BadSignature },
  { name: "for another certificate", respond: { cert: "other", ndays: 1 }, checkFor: "good", wantKind: "invalid", wantCode: OcspErrorCode.CertIdMismatch },
  { name: "expired", respond: { nmin: 10 }, nowOffset: 10 * MIN, wantKind: "invalid", wantCode: OcspErrorCode.Expired },
  { name: "thisUpdate in the future", respond: { ndays: 1 }, nowOffset: -10 * MIN, wantKind: "invalid", wantCode: OcspErrorCode.NotYetValid },
  { name: "delegated signer expires before nextUpdate", respond: { signer: "signer-short", ndays: 1 }, wantKind: "invalid", wantCode: OcspErrorCode.SignerValidity },
  // the rest of RFC 6960 4.2.2.2 and 3.2
  { name: "expired delegated signer (the lab's badsigner)", respond: { signer: "signer-expired", ndays: 1 }, wantKind: "invalid", wantCode: OcspErrorCode.SignerValidity },
  { name: "signer without id-kp-OCSPSigning", respond: { signer: "signer-noeku", ndays: 1 }, wantKind: "invalid", wantCode: OcspErrorCode.UnauthorizedSigner },
  { name: "signer issued by another CA", respond: { signer: "other-signer", ndays: 1 }, wantKind: "invalid", wantCode: OcspErrorCode.UnauthorizedSigner },
  { name: "signed by a look-alike of the issuer", respond: { signer: "impostor-ca", ndays: 1 }, wantKind: "invalid", wantCode: OcspErrorCode.BadSignature },
  { name: "delegated signer not included", respond: { ndays: 1, noCerts: true }, wantKind: "invalid", wantCode: OcspErrorCode.UnauthorizedSigner },
  { name: "no nextUpdate", respond: {}, wantKind: "invalid", wantCode: OcspErrorCode.NoNextUpdate },
  { name: "SHA-1 signature", respond: { ndays: 1, digest: "sha1" }, wantKind: "invalid", wantCode: OcspErrorCode.UnsupportedAlgorithm },
  { name: "older than the held response", respond: { ndays: 1 }, opts: { notOlderThan: new Date(Date.now() + MIN) }, wantKind: "invalid", wantCode: OcspErrorCode.Stale },
  { name: "over the size cap", respond: { ndays: 1 }, opts: { maxResponseBytes: 200 }, wantKind: "invalid", wantCode: OcspErrorCode.TooLarge },
  { name: "a byte appended", respond: { ndays: 1 }, tamper: (d) => Buffer.concat([d, Buffer.of(0)]), wantKind: "invalid", wantCode: OcspErrorCode.Malformed },
  { name: "last byte dropped", respond: { ndays: 1 }, tamper: (d) => d.subarray(0, -1), wantKind: "invalid", wantCode: OcspErrorCode.Malformed },
];

describe("evaluateResponse against real openssl ocsp responses", () => {
  test.each(cases)("$name", (c) => {
    const raw = pki.respond(c.respond);
    const thisUpdate = parseResponse(raw).data.responses[0]?.thisUpdate ?? new Date();
    const der = c.tamper === undefined ? raw : c.tamper(raw);
    const pair = pairOf(c.checkFor ?? c.respond.cert ?? "good");
    const verdict = evaluateResponse(der, pair, { now: new Date(thisUpdate.getTime() + (c.nowOffset ?? 1000)), ...c.opts });
    expect(verdict.kind === "invalid" ? `${verdict.kind} ${verdict.code}: ${verdict.reason}` : verdict.kind).toMatch(
      new RegExp(`^${c.wantKind}${c.wantCode === undefined ? "$" : ` ${c.wantCode}:`}`),
    );
    if (verdict.kind !== "invalid" && c.wantSigner !== undefined) expect(verdict.response.signer.kind).toBe(c.wantSigner);
  });

  test("revoked carries time and reason; good carries signer validity", () => {
    const revoked = evaluateResponse(pki.respond({ cert: "flip", ndays: 1 }), pairOf("flip"), { now: new Date() });
    if (revoked.kind !== "revoked") throw new Error(`got ${revoked.kind}`);
    expect(revoked.response.revocationReason).toBe("keyCompromise");
    expect(revoked.response.revocationTime?.getTime()).toBeLessThanOrEqual(Date.now());
    const good = evaluateResponse(pki.respond({ signer: "signer-short", nmin: 5 }), pairOf("good"), { now: new Date() });
    if (good.kind !== "good") throw new Error(`got ${good.kind}`);
    expect(good.response.nextUpdate.getTime() - good.response.thisUpdate.getTime()).toBe(5 * MIN);
    expect(good.response.signer.notAfter.getTime()).toBeGreaterThan(good.response.nextUpdate.getTime());
  });

  test("responder errors and garbage are invalid, never thrown", () => {
    const tryLater = Buffer.from("30030a0103", "hex");
    const cases: Array<[Buffer, OcspErrorCode]> = [
      [tryLater, OcspErrorCode.ResponderStatus],
      [Buffer.from("30030a0101", "hex"), OcspErrorCode.ResponderStatus],
      [Buffer.from("garbage"), OcspErrorCode.Malformed],
      [Buffer.alloc(0), OcspErrorCode.Malformed],
      [Buffer.from("3080", "hex"), OcspErrorCode.Malformed],
    ];
    for (const [der, code] of cases) {
      const v = evaluateResponse(der, pairOf("good"), { now: new Date() });
      expect(v.kind === "invalid" && v.code).toBe(code);
    }
  });

  test("a nonce sent is checked when the responder echoes it", () => {
    const pair = pairOf("good");
    const request = buildRequest(pair, { nonce: true });
    const der = pki.respond({ request: request.der, ndays: 1 });
    expect(evaluateResponse(der, pair, { now: new Date(), nonce: request.nonce }).kind).toBe("good");
    const other = buildRequest(pair, { nonce: true });
    const v = evaluateResponse(der, pair, { now: new Date(), nonce: other.nonce });
    expect(v.kind === "invalid" && v.code).toBe(OcspErrorCode.NonceMismatch);
    // a response without a nonce (caching responders) is accepted
    expect(evaluateResponse(pki.respond({ ndays: 1 }), pair, { now: new Date(), nonce: request.nonce }).kind).toBe("good");
  });
});

describe("derived variants", () => {
  test("every single-bit flip and every truncation of a good response is invalid", () => {
    const pair = pairOf("good");
    const der = pki.respond({ ndays: 1 });
    const now = new Date();
    expect(evaluateResponse(der, pair, { now }).kind).toBe("good");
    for (let i = 0; i < der.length; i++) {
      const flipped = Buffer.from(der);
      flipped[i] = (flipped[i] as number) ^ 0x01;
      const v = evaluateResponse(flipped, pair, { now });
      if (v.kind !== "invalid") throw new Error(`flip at ${i} gave ${v.kind}`);
      expect(v.code).not.toBe(OcspErrorCode.Internal);
      const t = evaluateResponse(der.subarray(0, i), pair, { now });
      expect(t.kind === "invalid" && t.code).toBe(OcspErrorCode.Malformed);
    }
  });
});
