import { endsWithToplabel, isIdentityDomain, isQueryable, isToplabel, isWithin, truncateName } from "./names";

test.each([
  ["com", true],
  ["xn--zckzah", true],
  ["123-456", true],
  ["a1", true],
  ["123", false],
  ["-com", false],
  ["com-", false],
  ["co_m", false],
  ["", false],
])("isToplabel(%j) = %s", (label, want) => {
  expect(isToplabel(label)).toBe(want);
});

test.each([
  [".com", true],
  ["foo.com.", true],
  ["com", false],
  ["com.", false],
  ["foo.com:8080", false],
  ["foo.123", false],
])("endsWithToplabel(%j) = %s", (text, want) => {
  expect(endsWithToplabel(text)).toBe(want);
});

test.each([
  ["example.com", true],
  ["mail_host.example.com", true],
  ["a".repeat(63) + ".example.com", true],
  ["a".repeat(64) + ".example.com", false],
  ["a...example.com", false],
  ["OEMCOMPUTER", false],
  ["[192.0.2.1]", false],
  ["192.0.2.1", false],
  ["exa mple.com", false],
])("isIdentityDomain(%j) = %s", (name, want) => {
  expect(isIdentityDomain(name)).toBe(want);
});

test("isQueryable allows printable ASCII only", () => {
  expect(isQueryable("Macro Error.example.com")).toBe(true);
  expect(isQueryable("a\u0000b.example.com")).toBe(false);
  expect(isQueryable("caf\u00e9.example.com")).toBe(false);
  expect(isQueryable(`${"a.".repeat(127)}a`)).toBe(false);
});

test("isWithin is case-insensitive and label-aligned", () => {
  expect(isWithin("mail.Example.com.", "example.COM")).toBe(true);
  expect(isWithin("example.com", "example.com")).toBe(true);
  expect(isWithin("badexample.com", "example.com")).toBe(false);
});

test("truncateName keeps short names", () => {
  expect(truncateName("example.com")).toBe("example.com");
});
