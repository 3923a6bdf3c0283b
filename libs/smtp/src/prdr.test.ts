import { checkPrdrReplies, formatPrdrResponse, prdrFinalReply } from "./prdr";
import { type Reply, reply } from "./reply";
import { replies } from "./replies";

const ok = replies.prdrAccepted("a@x.test");
const defer = replies.prdrDeferred("b@x.test");
const no = replies.prdrRejected("c@x.test");

describe("prdrFinalReply", () => {
  test.each<[string, Reply[], string]>([
    ["all accepted", [ok, ok], "250 2.0.0 OK id=ID message accepted"],
    ["some accepted", [ok, defer, no], "250 2.0.0 OK id=ID message accepted for some recipients"],
    ["one accepted of five", [no, no, defer, ok, no], "250 2.0.0 OK id=ID message accepted for some recipients"],
    ["deferred and rejected", [defer, no], "450 4.0.0 Message temporarily rejected for all recipients"],
    ["all deferred", [defer, defer], "450 4.0.0 Message temporarily rejected for all recipients"],
    ["all rejected", [no, no], "550 5.0.0 Message rejected for all recipients"],
  ])("%s", (_name, rs, want) => {
    const r = prdrFinalReply(rs, "ID");
    expect(`${r.code} ${r.enhanced} ${r.lines.join("|")}`).toBe(want);
    expect(checkPrdrReplies(rs.length, rs, r)).toBeNull();
  });

  test("without an id", () => {
    expect(prdrFinalReply([ok]).lines).toEqual(["OK message accepted"]);
  });
});

describe("checkPrdrReplies", () => {
  test.each<[string, number, Reply[], Reply, RegExp | null]>([
    ["fits", 2, [ok, no], replies.accepted("X"), null],
    ["count", 3, [ok, no], replies.accepted("X"), /2 recipient replies for 3 recipients/],
    ["3xx recipient reply", 1, [reply(354, undefined, "x")], replies.accepted("X"), /2xx, 4xx or 5xx/],
    ["6xx final", 1, [ok], reply(600, undefined, "x"), /2xx, 4xx or 5xx/],
    ["positive final without an accepted recipient", 1, [no], replies.accepted("X"), /final reply must be 2xx/],
    ["negative final with an accepted recipient", 2, [ok, no], replies.localError, /final reply must be 2xx/],
  ])("%s", (_name, count, rs, final, want) => {
    const got = checkPrdrReplies(count, rs, final);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });
});

test("formatPrdrResponse: 353, per recipient (multi-line kept), final, in one string", () => {
  const multi = reply(550, "5.7.1", "PRDR R=<c@x.test> refusal", "see https://example.test/policy");
  expect(formatPrdrResponse(replies.prdrStart, [ok, multi], prdrFinalReply([ok, multi], "ID"))).toBe(
    "353 PRDR content analysis beginning\r\n" +
      "250 2.1.5 PRDR R=<a@x.test> acceptance\r\n" +
      "550-5.7.1 PRDR R=<c@x.test> refusal\r\n550 5.7.1 see https://example.test/policy\r\n" +
      "250 2.0.0 OK id=ID message accepted for some recipients\r\n",
  );
});
