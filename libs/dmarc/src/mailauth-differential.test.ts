/**
 * Differential test against mailauth's DMARC module (npm mailauth 7.1.0,
 * lib/dmarc), which implements RFC 9989's DNS Tree Walk, np, psd and t. Both
 * run on the same in-memory zones in RFC 9989 mode; mailauth with
 * `strict: true` (RFC 6376 tag-list rules: case-sensitive tag names, a
 * duplicated tag invalidates the record), which is how libdmarc always parses.
 *
 * Mapping: mailauth's `false` (no single Author Domain) is our `nofrom`;
 * its status.result (pass/fail/none/temperror) is our `result`; its `policy`
 * (after t=y) is our policy lowered by t (our `disposition` for a failure);
 * its `policyDomain` is our `policyDomain`; p and sp as published.
 * mailauth has no RFC 7489 mode (it dropped pct and the PSL for policy
 * discovery), so only RFC 9989 mode is compared.
 */
import { seededRandom } from "@postern/testing";
import { dmarc as mailauthDmarc } from "mailauth/lib/dmarc";
import { createDmarcZone, type DmarcZone, evaluateDmarc, type DmarcVerdict } from "./index";
import { cases, zone } from "./testing/table";

type Rng = () => number;
const rng = seededRandom;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const TLDS = ["test", "example", "psd"];
const LABELS = ["a", "b", "c", "mail", "corp", "x", "y", "z", "w", "v", "u"];

function randomName(r: Rng, maxLabels: number): string {
  const n = 1 + Math.floor(r() * maxLabels);
  const labels = [pick(r, TLDS)];
  for (let i = 1; i < n; i++) labels.unshift(pick(r, LABELS));
  return labels.join(".");
}

function randomRecord(r: Rng): string {
  const tags = ["v=DMARC1"];
  const p = pick(r, ["none", "quarantine", "reject", "reject", "bogus", ""]);
  if (p !== "") tags.push(`p=${p}`);
  if (r() < 0.4) tags.push(`sp=${pick(r, ["none", "quarantine", "reject", "bad"])}`);
  if (r() < 0.4) tags.push(`np=${pick(r, ["none", "quarantine", "reject", "bad"])}`);
  if (r() < 0.3) tags.push(`psd=${pick(r, ["y", "n", "u"])}`);
  if (r() < 0.2) tags.push(`t=${pick(r, ["y", "n"])}`);
  if (r() < 0.3) tags.push(`adkim=${pick(r, ["s", "r"])}`);
  if (r() < 0.3) tags.push(`aspf=${pick(r, ["s", "r"])}`);
  if (r() < 0.3) tags.push("rua=mailto:agg@report.test");
  if (r() < 0.05) tags.push("p=none");
  return tags.join("; ");
}

function randomZone(r: Rng): DmarcZone {
  const zone: Record<string, { txt?: string[]; a?: string[]; fail?: "servfail" | "timeout" }> = {};
  const records = Math.floor(r() * 6);
  for (let i = 0; i < records; i++) {
    const name = randomName(r, 5);
    const roll = r();
    if (roll < 0.05) zone[`_dmarc.${name}`] = { fail: pick(r, ["servfail", "timeout"] as const) };
    else if (roll < 0.1) zone[`_dmarc.${name}`] = { txt: [randomRecord(r), randomRecord(r)] };
    else zone[`_dmarc.${name}`] = { txt: [randomRecord(r)] };
  }
  const hosts = Math.floor(r() * 4);
  for (let i = 0; i < hosts; i++) zone[randomName(r, 5)] = r() < 0.1 ? { fail: "timeout" } : { a: ["192.0.2.1"] };
  return zone;
}

/** mailauth's resolver contract: arrays, or errors with node:dns codes. */
function mailauthResolver(zone: DmarcZone) {
  const dns = createDmarcZone(zone);
  const fail = (code: string): never => {
    const err = new Error(code) as Error & { code: string };
    err.code = code;
    throw err;
  };
  return async (name: string, type: string): Promise<unknown> => {
    const outcome = type === "TXT" ? await dns.txt(name) : await dns.a(name);
    if (type === "CNAME") return fail(outcome.kind === "nxdomain" ? "ENOTFOUND" : "ENODATA");
    switch (outcome.kind) {
      case "answer":
        return outcome.records;
      case "nxdomain":
        return fail("ENOTFOUND");
      case "nodata":
        return fail("ENODATA");
      case "servfail":
        return fail("ESERVFAIL");
      case "timeout":
        return fail("ETIMEOUT");
    }
  };
}

const WEAKER: Record<string, string> = { reject: "quarantine", quarantine: "none", none: "none" };

interface Comparable {
  result: string;
  policy?: string;
  policyDomain?: string;
  p?: string;
  sp?: string;
}

function ours(v: DmarcVerdict): Comparable | false {
  if (v.status === "nofrom") return false;
  const out: Comparable = { result: v.result };
  if (v.result === "pass" || v.result === "fail") {
    if (v.policy !== undefined) out.policy = v.record?.testing ? WEAKER[v.policy] : v.policy;
    if (v.policyDomain !== undefined) out.policyDomain = v.policyDomain;
    if (v.tags !== undefined) {
      out.p = v.tags.p;
      out.sp = v.tags.sp ?? v.tags.p;
    }
  }
  return out;
}

function theirs(res: Awaited<ReturnType<typeof mailauthDmarc>>): Comparable | false {
  if (res === false) return false;
  const r = res as unknown as { status: { result: string }; policy?: string; policyDomain?: string; p?: string; sp?: string };
  const out: Comparable = { result: r.status.result };
  if (r.status.result === "pass" || r.status.result === "fail") {
    if (r.policy !== undefined) out.policy = r.policy;
    if (r.policyDomain !== undefined && r.policyDomain !== null) out.policyDomain = r.policyDomain;
    if (r.p !== undefined) {
      out.p = r.p;
      out.sp = r.sp;
    }
  }
  return out;
}

interface DiffCase {
  zone: DmarcZone;
  from: string[];
  spf?: string;
  dkim: string[];
}

function randomCase(r: Rng): DiffCase {
  const zone = randomZone(r);
  const names = Object.keys(zone).map((n) => n.replace(/^_dmarc\./, ""));
  const near = (): string => (names.length > 0 && r() < 0.7 ? (r() < 0.5 ? pick(r, names) : `${pick(r, LABELS)}.${pick(r, names)}`) : randomName(r, 10));
  const fromCount = r() < 0.05 ? 0 : r() < 0.05 ? 2 : 1;
  const from: string[] = [];
  for (let i = 0; i < fromCount; i++) from.push(`user@${near()}`);
  const dkim: string[] = [];
  const nd = Math.floor(r() * 3);
  for (let i = 0; i < nd; i++) dkim.push(near());
  return { zone, from, dkim, ...(r() < 0.5 ? { spf: near() } : {}) };
}

async function compare(c: DiffCase): Promise<{ ours: Comparable | false; theirs: Comparable | false }> {
  const v = await evaluateDmarc(
    { from: c.from.length === 0 ? [] : [c.from.join(", ")], dkim: c.dkim.map((domain) => ({ domain, result: "pass" })), ...(c.spf === undefined ? {} : { spf: { result: "pass", domain: c.spf } }) },
    { dns: createDmarcZone(c.zone), mode: "rfc9989", authservId: "mx.test" },
  );
  const m = await mailauthDmarc({
    headerFrom: c.from,
    spfDomains: c.spf === undefined ? [] : [c.spf],
    dkimDomains: c.dkim.map((domain) => ({ domain })),
    resolver: mailauthResolver(c.zone) as never,
    strict: true,
  });
  return { ours: ours(v), theirs: theirs(m) };
}

const fixed: DiffCase[] = [
  { zone: { "_dmarc.example.test": { txt: ["v=DMARC1; p=reject"] } }, from: ["a@example.test"], dkim: ["example.test"] },
  { zone: { "_dmarc.example.test": { txt: ["v=DMARC1; p=reject"] } }, from: ["a@mail.example.test"], dkim: [] },
  { zone: { "_dmarc.psd": { txt: ["v=DMARC1; p=reject; psd=y"] }, "org.psd": { a: ["192.0.2.1"] } }, from: ["a@org.psd"], dkim: [] },
  { zone: { "_dmarc.psd": { txt: ["v=DMARC1; p=reject; np=quarantine; psd=y"] } }, from: ["a@ghost.psd"], dkim: [] },
  { zone: { "_dmarc.np.test": { txt: ["v=DMARC1; p=none; np=reject"] } }, from: ["a@ghost.np.test"], dkim: [] },
  { zone: { "_dmarc.t.test": { txt: ["v=DMARC1; p=reject; t=y"] } }, from: ["a@t.test"], dkim: [] },
  { zone: { "_dmarc.e.f.g.h.i.j.test": { txt: ["v=DMARC1; p=quarantine; psd=n"] } }, from: ["a@a.b.c.d.e.f.g.h.i.j.test"], dkim: ["z.e.f.g.h.i.j.test"] },
  { zone: { "_dmarc.x.test": { fail: "timeout" } }, from: ["a@x.test"], dkim: [] },
  { zone: {}, from: ["a@a.test", "b@b.test"], dkim: [] },
];

test.each(fixed.map((c, i) => [i, c] as const))("fixed case %i agrees with mailauth", async (_i, c) => {
  const r = await compare(c);
  expect(r.ours).toEqual(r.theirs);
});

test.each(cases.map((c) => [c.name, c] as const))("table case agrees with mailauth: %s", async (_name, c) => {
  // mailauth takes the From addresses, not the field: the table's fields are simple enough to split here
  const addresses = c.from === "" ? [] : c.from.split(",").map((m) => (/<([^>]*)>/.exec(m)?.[1] ?? m).trim());
  const r = await compare({ zone, from: addresses, dkim: (c.dkim ?? []).filter(([, res]) => res === "pass").map(([d]) => d), ...(c.spf?.[0] === "pass" ? { spf: c.spf[1] } : {}) });
  expect(r.ours).toEqual(r.theirs);
});

test("3,000 generated cases agree with mailauth (RFC 9989)", async () => {
  const r = rng(9989);
  const disagreements: { c: DiffCase; ours: unknown; theirs: unknown }[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const c = randomCase(r);
    const res = await compare(c);
    const key = res.theirs === false ? "nofrom" : res.theirs.result;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (JSON.stringify(res.ours) !== JSON.stringify(res.theirs)) disagreements.push({ c, ...res });
  }
  if (disagreements.length > 0) console.log(JSON.stringify(disagreements.slice(0, 3), null, 1));
  expect(disagreements.length).toBe(0);
  // the generator reaches every outcome
  for (const k of ["pass", "fail", "none", "temperror", "nofrom"]) expect(seen.get(k) ?? 0).toBeGreaterThan(20);
}, 120_000);
