import { createDmarcZone, type DkimResultInput, evaluateDmarc, type DmarcVerdict as LibVerdict } from "@postern/libdmarc";
import { DmarcVerdict } from "@postern/proto";
import { toProtoVerdict } from "./checker";
import { zone } from "./testing/harness";

/** The mapping toProtoVerdict replaced: the same fields through fromPartial. */
function viaFromPartial(v: LibVerdict, txnId: string, status: number): DmarcVerdict {
  return DmarcVerdict.fromPartial({
    txnId,
    status,
    statusText: v.statusText,
    usedDomain: v.usedDomain,
    domainPolicy: v.domainPolicy,
    arHeader: v.arHeader,
    dkim: v.dkim.map((d) => ({ domain: d.domain, selector: d.selector ?? "", result: d.result, reason: d.reason ?? "" })),
    result: v.result,
    authorDomain: v.authorDomain ?? "",
    mode: v.mode,
  });
}

const dns = createDmarcZone(zone);
const dkimPass: DkimResultInput = { domain: "reject.test", selector: "s1", result: "pass", signature: "abcdefgh" };
const dkimFail: DkimResultInput = { domain: "other.test", result: "fail", reason: "body hash did not verify" };

const cases: [string, string, DkimResultInput[], LibVerdict["status"]][] = [
  ["pass through DKIM", "From: a@reject.test\r\n\r\n", [dkimPass], "accept"],
  ["reject, DKIM result without selector", "From: a@reject.test\r\n\r\n", [dkimFail], "reject"],
  ["no record", "From: a@norecord.test\r\n\r\n", [], "none"],
  ["no From", "Subject: x\r\n\r\n", [], "nofrom"],
  ["DNS timeout", "From: a@slow.test\r\n\r\n", [dkimPass, dkimFail], "temperror"],
];

test.each(cases)("toProtoVerdict: %s", async (_name, message, dkim, status) => {
  const v = await evaluateDmarc({ message, dkim }, { dns, mode: "rfc9989", authservId: "mx.receiver.test" });
  expect(v.status).toBe(status);
  const got = toProtoVerdict(v, "txn-1");
  expect(got).toStrictEqual(viaFromPartial(v, "txn-1", got.status));
  expect(got.status).not.toBe(0);
});
