import { headerComment, headerTexts, type HeaderFacts, isDotAtom, smtpSafe } from "./headers";

const facts: HeaderFacts = {
  result: "pass",
  identity: "mailfrom",
  sender: "user@example.com",
  helo: "mail.example.com",
  ip: "192.0.2.1",
  receiver: "mx.postern.test",
  mechanism: "ip4:192.0.2.0/24",
  problem: undefined,
};

describe("headerTexts", () => {
  test.each<[string, Partial<HeaderFacts>, string, string, string]>([
    [
      "pass",
      {},
      "mx.postern.test: domain of user@example.com designates 192.0.2.1 as permitted sender",
      "pass (mx.postern.test: domain of user@example.com designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=\"user@example.com\"; helo=mail.example.com; receiver=mx.postern.test; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"",
      "spf=pass smtp.mailfrom=user@example.com",
    ],
    [
      "none without mechanism, HELO identity",
      { result: "none", identity: "helo", sender: "postmaster@mail.example.com", mechanism: undefined },
      "mx.postern.test: domain of postmaster@mail.example.com does not designate permitted sender hosts",
      'none (mx.postern.test: domain of postmaster@mail.example.com does not designate permitted sender hosts) client-ip=192.0.2.1; envelope-from="postmaster@mail.example.com"; helo=mail.example.com; receiver=mx.postern.test; identity=helo',
      "spf=none smtp.helo=mail.example.com",
    ],
    [
      "permerror with problem, IPv6 client",
      { result: "permerror", ip: "2001:db8::1", mechanism: undefined, problem: 'unknown mechanism: "moo"' },
      "mx.postern.test: permanent error in processing domain of user@example.com",
      'permerror (mx.postern.test: permanent error in processing domain of user@example.com) client-ip="2001:db8::1"; envelope-from="user@example.com"; helo=mail.example.com; receiver=mx.postern.test; identity=mailfrom; problem="unknown mechanism: \\"moo\\""',
      'spf=permerror reason="unknown mechanism: \\"moo\\"" smtp.mailfrom=user@example.com',
    ],
    [
      "comment characters are escaped in Received-SPF only",
      { result: "softfail", sender: "a(b)\\c@example.com", receiver: "mx(1)", mechanism: "~all" },
      "mx(1): domain of transitioning a(b)\\c@example.com does not designate 192.0.2.1 as permitted sender",
      'softfail (mx\\(1\\): domain of transitioning a\\(b\\)\\\\c@example.com does not designate 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from="a(b)\\\\c@example.com"; helo=mail.example.com; receiver="mx(1)"; identity=mailfrom; mechanism=~all',
      'spf=softfail smtp.mailfrom="a(b)\\\\c@example.com"',
    ],
    [
      "control characters become ?",
      { result: "neutral", sender: "x\u0001@example.com", helo: "h\r\n", mechanism: "?all" },
      "mx.postern.test: 192.0.2.1 is neither permitted nor denied by domain of x?@example.com",
      'neutral (mx.postern.test: 192.0.2.1 is neither permitted nor denied by domain of x?@example.com) client-ip=192.0.2.1; envelope-from="x?@example.com"; helo=h??; receiver=mx.postern.test; identity=mailfrom; mechanism=?all',
      "spf=neutral smtp.mailfrom=x?@example.com",
    ],
    [
      "a quoted local part; HELO identity uses the HELO pvalue",
      { result: "temperror", identity: "helo", sender: "we ird@example.com", helo: "[192.0.2.1]", mechanism: undefined, problem: "DNS timeout" },
      "mx.postern.test: temporary error in processing domain of we ird@example.com",
      'temperror (mx.postern.test: temporary error in processing domain of we ird@example.com) client-ip=192.0.2.1; envelope-from="we ird@example.com"; helo="[192.0.2.1]"; receiver=mx.postern.test; identity=helo; problem="DNS timeout"',
      'spf=temperror reason="DNS timeout" smtp.helo="[192.0.2.1]"',
    ],
  ])("%s", (_name, change, comment, receivedSpf, authResults) => {
    const f = { ...facts, ...change };
    expect(headerTexts(f)).toEqual({ comment, receivedSpf, authResults });
    expect(headerComment(f)).toBe(comment);
  });

  test("receivers alternating between checks each get their own text", () => {
    for (const receiver of ["a.test", "b(x).test", "a.test"]) {
      const texts = headerTexts({ ...facts, receiver });
      expect(texts.comment.startsWith(`${receiver}: `)).toBe(true);
      expect(texts.receivedSpf).toContain(receiver === "a.test" ? "receiver=a.test;" : 'receiver="b(x).test";');
    }
  });

  test("long fields are capped", () => {
    const texts = headerTexts({ ...facts, sender: `${"l".repeat(200)}@example.com` });
    expect(texts.comment).toContain(`${"l".repeat(93)}...`);
  });

  test.each([
    ["plain", "plain"],
    ["tab\there", "tab?here"],
    ["é", "?"],
  ])("smtpSafe(%j)", (text, want) => {
    expect(smtpSafe(text)).toBe(want);
  });
});

describe("isDotAtom (single pass) agrees with the RFC 5322 dot-atom-text regex", () => {
  const reference = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;

  test.each(["", ".", "a", "a.b", ".a", "a.", "a..b", "user+tag@example.com", "a b", 'a"b', "a(b)", "{|}~", "é", "a.\u0000", "2001:db8::1", "192.0.2.1"])("%j", (text) => {
    expect(isDotAtom(text)).toBe(reference.test(text));
  });

  test("random strings over atext, specials and dots", () => {
    const alphabet = "aZ9.!#~-/=?^_`{|}@ ()\"\\,;:<>[]\u0001\u0080é";
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 20_000; i++) {
      let text = "";
      for (let n = next(8); n > 0; n--) text += alphabet.charAt(next(alphabet.length));
      expect([text, isDotAtom(text)]).toEqual([text, reference.test(text)]);
    }
  });
});
