import { authorDomains, fromValues, parseHeaderFields } from "./index";

const cases: [string, string[], ReturnType<typeof authorDomains>["kind"], string[]][] = [
  ["plain", ["a@example.com"], "one", ["example.com"]],
  ["display name", ['"Doe, John" <john@Example.COM>'], "one", ["example.com"]],
  ["comment with @", ["(x@evil.test) a@example.com"], "one", ["example.com"]],
  ["quoted local part with @", ['"a@evil.test"@example.com'], "one", ["example.com"]],
  ["trailing dot", ["a@example.com."], "one", ["example.com"]],
  ["IDN to A-label", ["a@bücher.example"], "one", ["xn--bcher-kva.example"]],
  ["two mailboxes, one domain", ["a@example.com, B <b@example.com>"], "one", ["example.com"]],
  ["two domains", ["a@example.com, b@evil.test"], "multiple-domains", ["example.com", "evil.test"]],
  ["group syntax", ["friends: a@example.com, b@example.com;"], "one", ["example.com"]],
  ["obsolete route", ["<@relay.test:a@example.com>"], "one", ["example.com"]],
  ["no domain", ["undisclosed-recipients:;"], "none", []],
  ["a bad mailbox next to a good one", ["a@example.com, broken"], "invalid", ["example.com"]],
  ["two From fields", ["a@example.com", "a@example.com"], "multiple-fields", ["example.com"]],
  ["none", [], "none", []],
];

test.each(cases)("%s", (_name, values, kind, domains) => {
  const r = authorDomains(values);
  expect(r.kind).toBe(kind);
  expect(r.kind === "one" ? [r.domain] : r.domains).toEqual(domains);
});

test("headers: folding, LF or CRLF, body ignored", () => {
  const fields = parseHeaderFields("Subject: x\r\nFROM: A\r\n <a@example.com>\r\n\r\nFrom: b@evil.test\r\n");
  expect(fromValues(fields)).toEqual(["A <a@example.com>"]);
  expect(fromValues(parseHeaderFields(Buffer.from("From: a@b.test\nX: y\n\nFrom: c@d.test")))).toEqual(["a@b.test"]);
});
