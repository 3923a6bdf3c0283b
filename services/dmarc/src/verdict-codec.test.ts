import { DkimSignatureResult, DmarcStatus, DmarcVerdict, DmarcVerdicts } from "@postern/proto";
import { DmarcCallbackClient, encodeDmarcVerdicts } from "./verdict-codec";
import { seededRandom } from "@postern/testing";

const generic = (m: DmarcVerdicts): Buffer => Buffer.from(DmarcVerdicts.encode(m).finish());

const base: DmarcVerdict = {
  txnId: "0123456789abcdef01234567",
  status: DmarcStatus.DMARC_STATUS_ACCEPT,
  statusText: "Accept",
  usedDomain: "bench.test",
  domainPolicy: "reject",
  arHeader: "Authentication-Results: edge.bench.test;\r\n\tspf=pass smtp.mailfrom=bench.test;\r\n\tdkim=none;\r\n\tdmarc=pass (p=reject dis=none) header.from=bench.test",
  dkim: [],
  result: "pass",
  authorDomain: "bench.test",
  mode: "rfc9989",
};

const rng = seededRandom;

const PIECES = ["", "a", "bench.test", "é", "€", "😀", "\ud800", "\udc00x", "\u0000", "x".repeat(130), "y".repeat(17_000), "Authentication-Results: x;\r\n\t"];
function randomString(r: () => number): string {
  let s = "";
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

function randomVerdict(r: () => number): DmarcVerdict {
  const dkim = Array.from({ length: Math.floor(r() * 3) }, () => ({ domain: randomString(r), selector: randomString(r), result: randomString(r), reason: randomString(r) }));
  return {
    txnId: randomString(r),
    status: Math.floor(r() * 8),
    statusText: randomString(r),
    usedDomain: randomString(r),
    domainPolicy: randomString(r),
    arHeader: randomString(r),
    dkim,
    result: randomString(r),
    authorDomain: randomString(r),
    mode: randomString(r),
  };
}

describe("encodeDmarcVerdicts writes what DmarcVerdicts.encode writes", () => {
  const table: [string, DmarcVerdict[]][] = [
    ["no verdicts", []],
    ["one pipeline verdict", [base]],
    ["all empty, status unspecified", [{ ...base, txnId: "", status: DmarcStatus.DMARC_STATUS_UNSPECIFIED, statusText: "", usedDomain: "", domainPolicy: "", arHeader: "", result: "", authorDomain: "", mode: "" }]],
    [
      "DKIM results, some fields empty",
      [{ ...base, dkim: [{ domain: "example.com", selector: "s1", result: "pass", reason: "" }, { domain: "", selector: "", result: "fail", reason: "body hash did not verify" }] }],
    ],
    ["non-ASCII and lone surrogates", [{ ...base, statusText: "Bücher € 😀", authorDomain: "\ud800", usedDomain: "x\udc00" }]],
    ["length prefixes of 2 and 3 bytes", [{ ...base, arHeader: "a".repeat(200) }, { ...base, arHeader: "b".repeat(20_000) }]],
    ["a batch", [base, { ...base, txnId: "2", status: DmarcStatus.DMARC_STATUS_REJECT, result: "fail" }, { ...base, txnId: "3", status: DmarcStatus.DMARC_STATUS_TEMPERROR }]],
    ["UNRECOGNIZED status (the generic writer's path)", [{ ...base, status: DmarcStatus.UNRECOGNIZED }]],
  ];
  it.each(table)("%s", (_name, verdicts) => {
    const got = encodeDmarcVerdicts({ verdicts });
    expect(got.equals(generic({ verdicts }))).toBe(true);
    expect(DmarcVerdicts.decode(got)).toEqual(DmarcVerdicts.decode(generic({ verdicts })));
  });

  it("random batches", () => {
    const r = rng(5);
    for (let i = 0; i < 2_000; i++) {
      const m = { verdicts: Array.from({ length: Math.floor(r() * 4) }, () => randomVerdict(r)) };
      expect(encodeDmarcVerdicts(m).equals(generic(m))).toBe(true);
    }
  });
});

test("DmarcCallbackClient serializes both batch methods with encodeDmarcVerdicts, the rest as generated", () => {
  const service = (DmarcCallbackClient as unknown as { service: Record<string, { requestSerialize: unknown; path: string }> }).service;
  expect(service.streamDmarcVerdicts?.requestSerialize).toBe(encodeDmarcVerdicts);
  expect(service.reportDmarcBatch?.requestSerialize).toBe(encodeDmarcVerdicts);
  expect(service.reportDmarc?.path).toBe("/postern.v1.EdgeCallback/ReportDmarc");
});

test("every field the proto has is encoded: a field added to dmarc.proto fails here until verdict-codec.ts writes it", () => {
  // each field set to a non-default value of its type, found from the generated empty message
  const filled = (empty: Record<string, unknown>, nested: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(empty).map(([key, value]): [string, unknown] => {
        if (typeof value === "string") return [key, `${key}-value`];
        if (typeof value === "number") return [key, 2];
        if (typeof value === "boolean") return [key, true];
        if (Array.isArray(value)) return [key, [nested]];
        throw new Error(`verdict-codec test: no filler for field ${key} (${typeof value})`);
      }),
    );
  const dkim = filled(DkimSignatureResult.fromPartial({}) as unknown as Record<string, unknown>, {});
  const verdict = filled(DmarcVerdict.fromPartial({}) as unknown as Record<string, unknown>, dkim) as unknown as DmarcVerdict;
  const message: DmarcVerdicts = { verdicts: [verdict, verdict] };
  expect(encodeDmarcVerdicts(message).equals(generic(message))).toBe(true);
});
