/**
 * Issue 11, Done when 2: responses that fail verification are refused and the previous valid
 * staple stays (KV value and revision, the edge's copy, the staple file).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OcspErrorCode } from "@postern/ocsp";
import { type Harness, startHarness, waitFor } from "./testing/harness";
import { type ResponderSetup } from "./testing/responder";

let h: Harness;
let certId: string;
let held: { der: Buffer; revision: number };

beforeAll(async () => {
  h = await startHarness();
  // a backoff longer than any clock offset below: each case triggers exactly one attempt (makeDue)
  await h.start({ backoff: { initial_ms: 3_600_000, max_ms: 3_600_000 } });
  certId = await h.announce("good");
  const s = await waitFor("first staple", () => h.staple(certId));
  held = { der: Buffer.from(s.envelope.der, "base64"), revision: s.revision };
  await waitFor("first push", () => h.edge.staples.length === 1);
}, 60_000);
afterAll(() => h?.close());

const MIN = 60_000;
const flipLast = (der: Buffer): Buffer => {
  const out = Buffer.from(der);
  out[out.length - 1] = (out[out.length - 1] as number) ^ 0x01;
  return out;
};

interface Case {
  name: string;
  setup?: ResponderSetup;
  tamper?: (der: Buffer) => Buffer;
  /** answer for this certificate instead */
  swapTo?: string;
  /** refresher clock offset */
  offset?: number;
  wantCode: string;
}

const cases: Case[] = [
  { name: "a bad signature", setup: { signer: "ca", ndays: 1, noCerts: true }, tamper: flipLast, wantCode: OcspErrorCode.BadSignature },
  { name: "a response for another certificate", swapTo: "other", wantCode: OcspErrorCode.CertIdMismatch },
  // nextUpdate = thisUpdate + 1 min, and the refresher's clock is 2 min ahead (the held staple runs a day)
  { name: "an expired response", setup: { nmin: 1 }, offset: 2 * MIN, wantCode: OcspErrorCode.Expired },
  { name: "thisUpdate in the future", offset: -10 * MIN, wantCode: OcspErrorCode.NotYetValid },
  // signer-short expires 10 minutes from now; the responses say nextUpdate is a day away
  { name: "a delegated signer that expires before nextUpdate", setup: { signer: "signer-short", ndays: 1 }, wantCode: OcspErrorCode.SignerValidity },
  { name: "a signer without id-kp-OCSPSigning", setup: { signer: "signer-noeku", ndays: 1 }, wantCode: OcspErrorCode.UnauthorizedSigner },
  { name: "no nextUpdate", setup: {}, wantCode: OcspErrorCode.NoNextUpdate },
];

describe("the previous valid staple stays when the refresher is handed", () => {
  afterEach(async () => {
    h.clock.offset = 0;
    h.responder.tamper = undefined;
    h.responder.swapRequest = undefined;
    await h.responder.use({ ndays: 1 });
  });

  test.each(cases)("$name", async (c) => {
    if (c.setup !== undefined) await h.responder.use(c.setup);
    h.responder.tamper = c.tamper;
    h.responder.swapRequest = c.swapTo === undefined ? undefined : h.responder.requestFor(c.swapTo);
    h.clock.offset = c.offset ?? 0;
    const before = (await h.cert(certId))?.record.failures ?? 0;
    const requests = h.responder.requests;
    await h.makeDue(certId);

    const { record } = await waitFor("the attempt to finish", async () => {
      const cur = await h.cert(certId);
      return cur !== undefined && cur.record.failures === before + 1 && cur.record.lease === undefined ? cur : undefined;
    });
    expect(h.responder.requests).toBe(requests + 1);
    expect(record.last_error?.code).toBe(c.wantCode);
    // retried after the backoff, or when the held staple expires if that is sooner
    expect(record.next_refresh_at - (record.last_error?.at ?? 0)).toBe(3_600_000);

    const now = await h.staple(certId);
    expect(now?.revision).toBe(held.revision);
    expect(Buffer.from(now?.envelope.der ?? "", "base64").equals(held.der)).toBe(true);
    expect(h.edge.staples).toHaveLength(1);
    expect(readFileSync(join(h.stapleDir, `${certId}.der`)).equals(held.der)).toBe(true);
    expect(h.logs.some((l) => l.event === "ocsp.rejected" && l.code === c.wantCode)).toBe(true);
  });

  test("and a good response after all that replaces it", async () => {
    await h.makeDue(certId);
    const next = await waitFor("new staple", async () => {
      const s = await h.staple(certId);
      return s !== undefined && s.revision !== held.revision ? s : undefined;
    });
    expect(next.envelope.status).toBe("good");
    const cur = await waitFor("released", async () => ((await h.cert(certId))?.record.lease === undefined ? h.cert(certId) : undefined));
    expect(cur?.record.failures).toBe(0);
    expect(cur?.record.last_error).toBeUndefined();
    await waitFor("pushed", () => h.edge.staples.length === 2);
  });
});
