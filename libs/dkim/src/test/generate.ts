/**
 * Seeded generator of varied messages for the differential test: header
 * fields with folding, tabs, runs of spaces and trailing whitespace, repeated
 * fields, bodies with trailing whitespace, empty lines inside and at the end,
 * a missing final line end, empty bodies, CRLF / LF / mixed line ends, and
 * 8-bit octets. Also the tamperings applied after signing.
 */

import { seededRandom } from "@postern/testing";

export type Rng = () => number;

/** mulberry32 (@postern/testing): small, fast, reproducible. */
export const rng: (seed: number) => Rng = seededRandom;

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

const WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor", "=3D", "<a>", "x;y", "a:b", "caf\u00c3\u00a9", "na\u00efve"];
const SPACES = [" ", " ", " ", "  ", "\t", " \t ", "   "];

function words(r: Rng, n: number, sep: () => string = () => pick(r, SPACES)): string {
  let out = "";
  for (let i = 0; i < n; i++) out += (i === 0 ? "" : sep()) + pick(r, WORDS);
  return out;
}

/** A header value, sometimes folded (CRLF + WSP) and sometimes with whitespace at the end. */
function value(r: Rng, n: number): string {
  let v = words(r, n, () => (r() < 0.15 ? `\n${pick(r, [" ", "\t", "  ", " \t"])}` : pick(r, SPACES)));
  if (r() < 0.15) v += pick(r, [" ", "\t", "  "]);
  return v;
}

export function generateMessage(r: Rng): Buffer {
  const lines: string[] = [];
  const fields: string[] = [];
  if (r() < 0.3) fields.push(`Received: from mx${int(r, 1, 9)}.example.net by mx.example.org;${pick(r, SPACES)}Mon, 1 Jan 2024 00:00:00 +0000`);
  if (r() < 0.2) fields.push(`Received: from client.example by mx${int(r, 1, 9)}.example.net`);
  const display = pick(r, ["", "Joe ", '"Sixpack, Joe" ', "J\u00c3\u00b6 "]);
  fields.push(`From:${pick(r, [" ", "  ", "\t", ""])}${display}<joe${int(r, 1, 99)}@example.com>`);
  fields.push(`To: ${pick(r, ["suzie@example.net", "Suzie Q <suzie@example.net>", "a@example.net,\n b@example.net"])}`);
  if (r() < 0.3) fields.push(`Cc: c${int(r, 1, 9)}@example.net`);
  if (r() < 0.2) fields.push(`To: extra@example.net`);
  fields.push(`Subject: ${value(r, int(r, 1, 14))}`);
  fields.push(`Date: Fri, 11 Jul 2003 21:00:37 -0700`);
  fields.push(`Message-ID: <${int(r, 1, 1e9)}@example.com>`);
  if (r() < 0.5) fields.push("MIME-Version: 1.0");
  if (r() < 0.5) fields.push(`Content-Type: text/plain;${pick(r, [" ", "\n\t", "\n "])}charset="utf-8"`);
  for (let i = int(r, 0, 3); i > 0; i--) fields.push(`X-Test-${int(r, 1, 5)}:${pick(r, ["", " ", "  "])}${value(r, int(r, 0, 6))}`);
  // Shuffle a little (From need not be first).
  for (let i = fields.length - 1; i > 0; i--) {
    if (r() < 0.3) {
      const j = int(r, 0, i);
      [fields[i], fields[j]] = [fields[j] as string, fields[i] as string];
    }
  }
  lines.push(...fields.join("\n").split("\n"));
  const body: string[] = [];
  const shape = r();
  if (shape < 0.05) {
    // no body at all, not even the empty line
    return finish(r, lines, null);
  }
  if (shape < 0.12) return finish(r, lines, []);
  const big = r() < 0.03;
  for (let i = big ? 3000 : int(r, 1, 30); i > 0; i--) {
    const kind = r();
    if (kind < 0.15) body.push("");
    else if (kind < 0.22) body.push(pick(r, [" ", "\t", "  \t"]));
    else {
      let line = pick(r, ["", " ", "\t"]) + words(r, int(r, 1, 12));
      if (r() < 0.2) line += pick(r, [" ", "\t", "  "]);
      body.push(line);
    }
  }
  for (let i = int(r, 0, 3); i > 0; i--) body.push("");
  return finish(r, lines, body);
}

function finish(r: Rng, header: string[], body: string[] | null): Buffer {
  const ends = pick(r, ["crlf", "crlf", "lf", "mixed"] as const);
  const nl = (): string => (ends === "crlf" ? "\r\n" : ends === "lf" ? "\n" : r() < 0.5 ? "\r\n" : "\n");
  let out = header.map((l) => l + nl()).join("");
  if (body !== null) {
    out += nl();
    body.forEach((l, i) => {
      const last = i === body.length - 1;
      // A last line without line end never ends in whitespace: dkimpy keeps that whitespace in
      // relaxed canonicalisation (its regex needs a CRLF after it), RFC 6376 3.4.4 removes it.
      const noEnd = last && r() < 0.2 && l.length > 0 && !/[ \t]$/.test(l);
      out += noEnd ? l : l + nl();
    });
  }
  return Buffer.from(out, "latin1");
}

export const tamperings = ["none", "body-append", "body-space", "subject-change", "subject-case", "header-added", "from-added", "refold", "to-lf"] as const;
export type Tampering = (typeof tamperings)[number];

/** Alters a signed message in a way whose verdict depends on canonicalisation, l= and h=. */
export function tamper(message: Buffer, how: Tampering): Buffer {
  const s = message.toString("latin1");
  const m = /\r?\n\r?\n/.exec(s);
  const headEnd = m === null ? s.length : m.index;
  const head = s.slice(0, headEnd);
  const rest = s.slice(headEnd);
  const nl = head.includes("\r\n") ? "\r\n" : "\n";
  switch (how) {
    case "none":
      return message;
    case "body-append":
      return Buffer.from(m === null ? `${s}${nl}${nl}appended${nl}` : `${s}appended${nl}`, "latin1");
    case "body-space": {
      const at = rest.search(/[a-z] [a-z]/);
      return at === -1 ? Buffer.from(`${s}`, "latin1") : Buffer.from(`${head}${rest.slice(0, at + 1)} \t${rest.slice(at + 1)}`, "latin1");
    }
    case "subject-change":
      return Buffer.from(head.replace(/^Subject:/m, "Subject: Re:") + rest, "latin1");
    case "subject-case":
      return Buffer.from(head.replace(/^Subject:/m, "SUBJECT:") + rest, "latin1");
    case "header-added":
      return Buffer.from(`X-Added: yes${nl}${s}`, "latin1");
    case "from-added":
      return Buffer.from(`${head}${nl}From: <evil@example.org>${rest}`, "latin1");
    case "refold":
      return Buffer.from(head.replace(/^(Subject: \S+) /m, `$1${nl}\t`) + rest, "latin1");
    case "to-lf":
      return Buffer.from(s.replace(/\r\n/g, "\n"), "latin1");
  }
}
