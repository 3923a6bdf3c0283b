/**
 * The one-pass From reader and the slice-based mailbox scanners (author.ts)
 * against the straightforward versions they replaced: a table of edge cases
 * and seeded random header text over an alphabet of the characters that
 * matter (separators, quotes, comments, folding, CR/LF, NBSP, non-ASCII).
 */
import { domainToASCII } from "node:url";
import { authorDomains, createDmarcZone, DmarcLookup, fromFieldValues, fromValues, normalizeDomain, parseHeaderFields, treeWalk, WALK_MAX_LABELS } from "./index";
import { splitMailboxes, stripComments } from "./author";
import { validName } from "./lookup";
import { bareDomain } from "./verdict";
import { seededRandom } from "@postern/testing";

// ---- the replaced implementations, kept as the reference ----
function refStripComments(value: string): string {
  let out = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === "\\" && (quoted || depth > 0)) {
      if (depth === 0) out += c + (value[i + 1] ?? "");
      i++;
      continue;
    }
    if (depth === 0 && c === '"') quoted = !quoted;
    if (!quoted) {
      if (c === "(") {
        depth++;
        continue;
      }
      if (c === ")" && depth > 0) {
        depth--;
        out += " ";
        continue;
      }
    }
    if (depth === 0) out += c;
  }
  return out;
}

function refSplitMailboxes(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  let angle = false;
  let literal = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (quoted) {
      cur += c;
      if (c === "\\") cur += value[++i] ?? "";
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === "<") angle = true;
    else if (c === ">") angle = false;
    else if (c === "[") literal = true;
    else if (c === "]") literal = false;
    else if ((c === "," || c === ";") && !angle && !literal) {
      out.push(cur);
      cur = "";
      continue;
    } else if (c === ":" && !angle && !literal && !cur.includes("@")) {
      cur = "";
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out.map((m) => m.trim()).filter((m) => m !== "");
}

function refNormalizeDomain(input: string): string | undefined {
  let domain = input.trim().toLowerCase();
  if (/^\[[^[\]\\]*\]$/.test(domain)) return domain;
  domain = domain.replace(/\.+$/, "");
  if (domain === "" || /[\s"<>(),;:\\@[\]]/.test(domain)) return undefined;
  const ascii = /^[\x21-\x7e]+$/.test(domain) ? domain : domainToASCII(domain);
  if (ascii === "" || ascii.split(".").some((l) => l === "" || l.length > 63) || ascii.length > 253) return undefined;
  return ascii;
}

const rng = seededRandom;

const ALPHABET = ["a", "b", ".", "@", ",", ";", ":", "<", ">", "[", "]", '"', "\\", "(", ")", " ", "\t", "x.test", "ü", "\u00a0", "-"];
function randomText(r: () => number, max: number, alphabet: readonly string[]): string {
  let s = "";
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

describe("fromFieldValues is fromValues(parseHeaderFields(...))", () => {
  const table: [string, string][] = [
    ["plain", "From: a@b.test\r\n\r\n"],
    ["folded From", "Subject: x\r\nFROM: A\r\n <a@example.com>\r\n\r\nFrom: b@evil.test\r\n"],
    ["LF only, body ignored", "From: a@b.test\nX: y\n\nFrom: c@d.test"],
    ["continuation of another field", "X: y\r\n From: evil@x.test\r\nFrom: a@b.test\r\n\r\n"],
    ["continuation before any field", " From: a@b.test\r\n\tb@c.test\r\n\r\n"],
    ["padded names", "From  : a@b.test\r\n\tFrom:\tb@c.test\r\n\r\n"],
    ["NBSP and other names", "From\u00a0: a@b.test\r\nFromm: b@c.test\r\nFro: c@d.test\r\n\r\n"],
    ["lone CR and CR CR LF", "From: a@b.test\r\rX: 1\r\r\nFrom: c@d.test\r\n\r\n"],
    ["no header end", "From: a@b.test\r\nTo: c@d.test"],
    ["empty first line", "\r\nFrom: a@b.test\r\n"],
    ["mbox From line and no colon", "From a@b Mon\r\nnot a field\r\n\tcontinued\r\nFrom: x@y.test\r\n\r\n"],
    ["empty value", "From:\r\n\r\n"],
    ["two From fields", "From: a@b.test\r\nfrom: c@d.test\r\n\r\n"],
  ];
  it.each(table)("%s", (_name, text) => {
    const want = fromValues(parseHeaderFields(text));
    expect(fromFieldValues(text)).toEqual(want);
    expect(fromFieldValues(Buffer.from(text, "latin1"))).toEqual(fromValues(parseHeaderFields(Buffer.from(text, "latin1"))));
  });

  it("random header text", () => {
    const r = rng(7);
    const parts = ["From", "from", " From", "From ", "X", ":", " ", "\t", "\r\n", "\n", "\r", "a@b.test", "<c@d.test>", "\u00a0", "Fro", "m"];
    for (let i = 0; i < 4_000; i++) {
      const text = randomText(r, 30, parts);
      expect(fromFieldValues(text)).toEqual(fromValues(parseHeaderFields(text)));
      const bytes = Buffer.from(text, "latin1");
      expect(fromFieldValues(bytes)).toEqual(fromValues(parseHeaderFields(bytes)));
    }
  });
});

describe("mailbox scanners match the reference", () => {
  const table = ['"a,b" <a@x.test>, c@y.test', "grp: a@x.test, b@y.test;", "a@x.test:b", '"q\\"@" <a@b.test>', "(c (nested) \\) x) a@b.test", "<a@b.test>, [1.2.3.4]", "a@b.test (x"];
  it.each(table)("%s", (value) => {
    expect(stripComments(value)).toBe(refStripComments(value));
    expect(splitMailboxes(value)).toEqual(refSplitMailboxes(value));
  });

  it("random values", () => {
    const r = rng(11);
    for (let i = 0; i < 6_000; i++) {
      const value = randomText(r, 24, ALPHABET);
      expect(stripComments(value)).toBe(refStripComments(value));
      expect(splitMailboxes(value)).toEqual(refSplitMailboxes(value));
      expect(normalizeDomain(value)).toBe(refNormalizeDomain(value));
    }
  });

  it("normalizeDomain edge cases", () => {
    for (const d of ["Example.COM..", "[1.2.3.4]", "[a]b]", "a..b", `${"a".repeat(63)}.test`, `${"a".repeat(64)}.test`, "bücher.example", "", "...", " a.test ", "a@b", `${"a.".repeat(127)}b`]) {
      expect(normalizeDomain(d)).toBe(refNormalizeDomain(d));
    }
  });

  it("authorDomains over random From values agrees with the reference scanners", () => {
    const r = rng(13);
    for (let i = 0; i < 5_000; i++) {
      const value = randomText(r, 24, ALPHABET);
      const viaRef = refSplitMailboxes(refStripComments(value)).length;
      expect(authorDomains([value]).mailboxes).toBe(viaRef);
    }
  });
});

describe("bareDomain (verdict.ts) is toLowerCase().replace(/\\.+$/, \"\")", () => {
  it.each(["", ".", "...", "A.Test", "a.test.", "a.test...", ".a.", "ÄB.", "x..y"])("%j", (name) => {
    expect(bareDomain(name)).toBe(name.toLowerCase().replace(/\.+$/, ""));
  });
});

describe("validName (lookup.ts) is the split-based check", () => {
  const ref = (name: string): boolean => name.length <= 253 && name.split(".").every((l) => l.length > 0 && l.length <= 63);
  it.each(["", ".", "a", "a.", ".a", "a..b", "_dmarc.example.com", `${"a".repeat(63)}.b`, `${"a".repeat(64)}.b`, `${"a.".repeat(126)}a`, `${"a.".repeat(127)}a`])("%j", (name) => {
    expect(validName(name)).toBe(ref(name));
  });
});

describe("treeWalk names (by index) are the names of the split/join walk", () => {
  const refNames = (domain: string): string[] => {
    const names: string[] = [];
    let labels = domain.split(".");
    while (labels.length > 0) {
      names.push(labels.join("."));
      labels = labels.length > WALK_MAX_LABELS ? labels.slice(-WALK_MAX_LABELS) : labels.slice(1);
    }
    return names;
  };
  const dns = createDmarcZone({});
  const domains = ["", "a", "a.b", "mail.example.com", "a..b", ".a", "a.", "a.b.c.d.e.f.g", "a.b.c.d.e.f.g.h", "1.2.3.4.5.6.7.8.9.10.example.com", "..........", "x.y..z.w.v.u.t.s.r"];
  it.each(domains)("%j", async (domain) => {
    const walk = await treeWalk(domain, new DmarcLookup(dns));
    expect(walk.names).toEqual(refNames(domain));
  });
  it("random names", async () => {
    const r = rng(17);
    for (let i = 0; i < 2_000; i++) {
      const domain = randomText(r, 14, ["a", "b", ".", "."]);
      const walk = await treeWalk(domain, new DmarcLookup(dns, { maxQueries: 64, maxAlignmentWalks: 10 }));
      expect(walk.names).toEqual(refNames(domain));
    }
  });
});
