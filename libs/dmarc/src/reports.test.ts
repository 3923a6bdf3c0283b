import { gunzipSync } from "node:zlib";
import {
  aggregateRow,
  buildAggregateMessage,
  buildAggregateXml,
  buildFailureReport,
  createDmarcZone,
  evaluateDmarc,
  mergeRows,
  policyPublished,
  verifyReportUris,
  wantsFailureReport,
  parseReportUris,
  type DmarcMode,
  validateAggregateXml,
} from "./index";

const zone = {
  "_dmarc.example.com": { txt: ["v=DMARC1; p=reject; np=quarantine; t=y; rua=mailto:agg@example.com,mailto:x@reports.test!10m; ruf=mailto:fail@example.com; fo=1"] },
  "example.com._report._dmarc.reports.test": { txt: ["v=DMARC1"] },
};

async function verdict(mode: DmarcMode, from: string, dkim: { domain: string; result: string; selector?: string }[], spf?: { result: string; domain: string }) {
  return evaluateDmarc({ from: [from], dkim, ...(spf === undefined ? {} : { spf }) }, { dns: createDmarcZone(zone), mode, authservId: "mx.test" });
}

describe.each(["rfc7489", "rfc9989"] as const)("aggregate report (%s)", (mode) => {
  test("rows from verdicts make a report that validates against the RFC 9990 schema", async () => {
    const v1 = await verdict(mode, "a@example.com", [{ domain: "example.com", result: "pass", selector: "s1" }], { result: "pass", domain: "example.com" });
    const v2 = await verdict(mode, "a@mail.example.com", [{ domain: "evil.test", result: "fail", selector: "x" }], { result: "fail", domain: "evil.test" });
    const v3 = await verdict(mode, "a@example.com", [], { result: "softfail", domain: "<&>.test" });
    const policy = policyPublished(v1);
    expect(policy).toBeDefined();
    const rows = mergeRows([
      aggregateRow(v1, { sourceIp: "192.0.2.1" }),
      aggregateRow(v1, { sourceIp: "192.0.2.1" }),
      aggregateRow(v2, { sourceIp: "2001:db8::1", envelopeTo: "example.org" }),
      aggregateRow(v3, { sourceIp: "192.0.2.9", override: "mailing_list", overrideComment: "list <x>" }),
    ]);
    expect(rows.map((r) => r.count)).toEqual([2, 1, 1]);
    const xml = buildAggregateXml({ orgName: "Postern test", email: "dmarc@mx.test", reportId: "r1", begin: 1_700_000_000, end: 1_700_086_400, generator: "Postern", policy: policy!, rows });
    const check = validateAggregateXml(xml);
    expect(check.output).toMatch(/validates/);
    expect(check.ok).toBe(true);
    expect(xml).toContain("&lt;&amp;&gt;.test");
    expect(xml).toContain(`<discovery_method>${mode === "rfc9989" ? "treewalk" : "psl"}</discovery_method>`);
    if (mode === "rfc9989") expect(xml).toContain("<type>policy_test_mode</type>");
  });

  test("the report e-mail carries the gzip XML under the RFC 9990 file name", async () => {
    const v = await verdict(mode, "a@example.com", []);
    const report = { orgName: "o", email: "e@mx.test", reportId: "abc123", begin: 1, end: 2, policy: policyPublished(v)!, rows: [aggregateRow(v, { sourceIp: "192.0.2.1" })] };
    const { message, filename } = buildAggregateMessage(report, { from: "dmarc@mx.test", to: ["agg@example.com"], receiver: "mx.test" });
    expect(filename).toBe("mx.test!example.com!1!2!abc123.xml.gz");
    const text = message.toString();
    expect(text).toContain("Subject: Report Domain: example.com Submitter: mx.test Report-ID: <abc123>");
    const b64 = text.split("Content-Transfer-Encoding: base64\r\n\r\n")[1]!.split("\r\n--")[0]!.replace(/\r\n/g, "");
    expect(gunzipSync(Buffer.from(b64, "base64")).toString()).toBe(buildAggregateXml(report));
  });
});

test("a failure report is ARF with the headers only", async () => {
  const v = await verdict("rfc9989", "a@example.com", [{ domain: "evil.test", result: "fail" }]);
  expect(wantsFailureReport(v)).toBe(true);
  const headers = "From: a@example.com\r\nSubject: hi\r\nMessage-ID: <m1@x>\r\n\r\nsecret body";
  const msg = buildFailureReport(
    v,
    { headers, sourceIp: "192.0.2.7", mailFrom: "bounce@evil.test", arrival: new Date(0), reportingMta: "mx.test", deliveryResult: "reject", originalMessageId: "<m1@x>" },
    { from: "dmarc@mx.test", to: ["fail@example.com"] },
  ).toString();
  expect(msg).toContain('Content-Type: multipart/report; report-type=feedback-report; boundary="');
  expect(msg).toContain("Feedback-Type: auth-failure\r\n");
  expect(msg).toContain("Auth-Failure: dmarc\r\n");
  expect(msg).toContain("Reported-Domain: example.com\r\n");
  expect(msg).toContain("Source-IP: 192.0.2.7\r\n");
  expect(msg).toContain("Content-Type: text/rfc822-headers\r\n\r\nFrom: a@example.com\r\nSubject: hi\r\nMessage-ID: <m1@x>\r\n");
  expect(msg).not.toContain("secret body");
});

test("fo decides whether a failure is reported", async () => {
  const pass = await verdict("rfc9989", "a@example.com", [{ domain: "example.com", result: "pass" }]);
  // fo=1: any mechanism without an aligned pass (SPF absent here)
  expect(wantsFailureReport(pass)).toBe(true);
  const z = createDmarcZone({ "_dmarc.fo0.test": { txt: ["v=DMARC1; p=none; ruf=mailto:f@fo0.test"] } });
  const ok = await evaluateDmarc({ from: ["a@fo0.test"], dkim: [{ domain: "fo0.test", result: "pass" }] }, { dns: z, mode: "rfc9989", authservId: "mx" });
  expect(wantsFailureReport(ok)).toBe(false);
  const bad = await evaluateDmarc({ from: ["a@fo0.test"], dkim: [] }, { dns: z, mode: "rfc9989", authservId: "mx" });
  expect(wantsFailureReport(bad)).toBe(true);
});

test("external report destinations need a _report._dmarc record", async () => {
  const dns = createDmarcZone({
    "example.com._report._dmarc.reports.test": { txt: ["v=DMARC1"] },
    "example.com._report._dmarc.override.test": { txt: ["v=DMARC1; rua=mailto:other@override.test"] },
    "example.com._report._dmarc.moved.test": { txt: ["v=DMARC1; rua=mailto:x@elsewhere.test"] },
  });
  const uris = parseReportUris("mailto:a@example.com,mailto:b@reports.test,mailto:c@unverified.test,mailto:d@override.test,mailto:e@moved.test,https://x.test/r");
  for (const mode of ["rfc7489", "rfc9989"] as const) {
    const ok = await verifyReportUris(dns, mode, "example.com", uris);
    expect(ok.map((u) => u.address)).toEqual(["a@example.com", "b@reports.test", "other@override.test"]);
  }
});

test("report URIs: size suffix, percent-encoding, invalid entries dropped", () => {
  expect(parseReportUris("mailto:a%2Bb@x.test!10m, bogus, mailto:c@y.test")).toEqual([
    { uri: "mailto:a%2Bb@x.test", scheme: "mailto", address: "a+b@x.test", domain: "x.test", maxBytes: 10 * 1024 * 1024 },
    { uri: "mailto:c@y.test", scheme: "mailto", address: "c@y.test", domain: "y.test" },
  ]);
});
