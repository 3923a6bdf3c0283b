import { DmarcStatus, DmarcVerdict } from "@postern/proto";
import { dmarcDecision, dmarcGateSchema, dmarcPayload } from "./dmarc-gate";

const config = dmarcGateSchema.parse({ enable: true, mailing_lists: ["list@lists.test"] });
const v = (status: DmarcStatus, domainPolicy = "", usedDomain = "example.com"): DmarcVerdict =>
  DmarcVerdict.fromPartial({ status, domainPolicy, usedDomain, arHeader: "Authentication-Results: mx; dmarc=x" });

test.each([
  ["accept", DmarcStatus.DMARC_STATUS_ACCEPT, undefined, false],
  ["none", DmarcStatus.DMARC_STATUS_NONE, undefined, false],
  ["nofrom", DmarcStatus.DMARC_STATUS_NOFROM, undefined, false],
  ["reject", DmarcStatus.DMARC_STATUS_REJECT, "550 5.7.1 Message from example.com failed sender's DMARC policy, REJECT", false],
  ["quarantine", DmarcStatus.DMARC_STATUS_QUARANTINE, undefined, true],
  ["temperror", DmarcStatus.DMARC_STATUS_TEMPERROR, "451 4.7.0 Temporary error in DMARC evaluation, try again later", false],
] as const)("%s", (name, status, wantReply, quarantine) => {
  const d = dmarcDecision(v(status), ["u@x.test"], config);
  expect(d.reply === undefined ? undefined : `${d.reply.code} ${d.reply.enhanced} ${d.reply.lines.join(" ")}`).toBe(wantReply);
  expect(d.fields).toEqual({ dmarcStatus: name, quarantine });
  expect(d.headers[0]).toBe("Authentication-Results: mx; dmarc=x");
  if (quarantine) expect(d.headers[1]).toBe("X-Postern-Quarantine: DMARC policy of example.com (quarantine)");
});

test("temperror_action accept and reject_action quarantine", () => {
  const lenient = dmarcGateSchema.parse({ temperror_action: "accept", reject_action: "quarantine" });
  expect(dmarcDecision(v(DmarcStatus.DMARC_STATUS_TEMPERROR), [], lenient).reply).toBeUndefined();
  expect(dmarcDecision(v(DmarcStatus.DMARC_STATUS_REJECT), [], lenient).fields.quarantine).toBe(true);
});

test("a p=reject domain writing to a mailing list is refused even when DMARC passes (Exim's example)", () => {
  const d = dmarcDecision(v(DmarcStatus.DMARC_STATUS_ACCEPT, "reject"), ["LIST@lists.test"], config);
  expect(d.reply?.lines.join(" ")).toBe("Messages from example.com break mailing lists");
});

describe("dmarcPayload: the header section alone unless a DKIM-Signature field asks for the body", () => {
  const body = "Hello.\r\n\r\nDKIM-Signature: in the body does not count\r\n";
  test.each([
    { name: "unsigned: headers through the empty line", message: `From: a@x.test\r\nSubject: s\r\n\r\n${body}`, want: "From: a@x.test\r\nSubject: s\r\n\r\n" },
    { name: "signed: whole", message: `DKIM-Signature: v=1; d=x.test\r\nFrom: a@x.test\r\n\r\n${body}`, want: "whole" },
    { name: "signed, field name in another case, not first", message: `From: a@x.test\r\ndkim-SIGNATURE: v=1\r\n\r\n${body}`, want: "whole" },
    { name: "signed, white space before the colon (obsolete syntax)", message: `From: a@x.test\r\nDKIM-Signature \t: v=1\r\n\r\n${body}`, want: "whole" },
    { name: "a field merely containing the name is not a signature", message: `From: a@x.test\r\nX-Old-DKIM-Signature: v=1\r\n\r\n${body}`, want: "From: a@x.test\r\nX-Old-DKIM-Signature: v=1\r\n\r\n" },
    { name: "the name in a folded continuation is not a field", message: `Subject: a\r\n dkim-signature: no\r\n\r\n${body}`, want: "Subject: a\r\n dkim-signature: no\r\n\r\n" },
    { name: "no empty line: whole", message: "From: a@x.test\r\nSubject: s\r\n", want: "whole" },
    { name: "bare LF line ends: whole", message: `From: a@x.test\nSubject: s\n\n${body}`, want: "whole" },
    { name: "no header section at all", message: `\r\n\r\n${body}`, want: "whole" },
  ])("$name", ({ message, want }) => {
    const got = dmarcPayload(Buffer.from(message, "latin1")).toString("latin1");
    expect(got).toBe(want === "whole" ? message : want);
  });
});
