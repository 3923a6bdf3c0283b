// pnpm bench:dmarc — issue 8's benchmark, from the TypeScript sources:
//   node --conditions=@postern/source -r ./bench/ts-register.cjs bench/dmarc.mjs
//
// Messages/s for DKIM verification (@postern/dkim) + DMARC evaluation
// (@postern/libdmarc, RFC 9989 and RFC 7489 modes) on 10 KB signed messages
// with an in-memory DNS zone, as the dmarc service runs them (the body held
// as one Buffer, 32 messages in flight). Half the messages carry an aligned
// signature (dmarc=pass), half a third-party one (dmarc=fail, p=reject);
// half are signed rsa-sha256 with a 2048-bit key, half ed25519-sha256.
// Reference in the same run: mailauth's dkimVerify + dmarc (mailauth 7.1.0)
// on the same messages and zone.
//
// Options (env): BENCH_SECONDS (per measured round, default 3), BENCH_ROUNDS (default 3).
import { generateKeyPairSync } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(new URL("../libs/dmarc/package.json", import.meta.url));
const { createDmarcZone, evaluateDmarc } = require("@postern/libdmarc");
const requireDkim = createRequire(new URL("../services/dmarc/package.json", import.meta.url));
const { signMessage, verifyMessage } = requireDkim("@postern/dkim");
const { dkimVerify } = require("mailauth/lib/dkim/verify");
const { dmarc: mailauthDmarc } = require("mailauth/lib/dmarc");
const mailauthVersion = require("mailauth/package.json").version;

const SECONDS = Number(process.env.BENCH_SECONDS ?? "3");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "3");
const CONCURRENCY = 32;
const fmt = (n, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");
const rsaRecord = `v=DKIM1; k=rsa; p=${rsa.publicKey.export({ format: "der", type: "spki" }).toString("base64")}`;
const edRecord = `v=DKIM1; k=ed25519; p=${ed.publicKey.export({ format: "der", type: "spki" }).subarray(-32).toString("base64")}`;

const zoneData = {
  "_dmarc.example.com": { txt: ["v=DMARC1; p=reject; rua=mailto:dmarc@example.com"] },
  "rsa._domainkey.example.com": { txt: [rsaRecord] },
  "ed._domainkey.example.com": { txt: [edRecord] },
  "rsa._domainkey.esp.example.net": { txt: [rsaRecord] },
  "ed._domainkey.esp.example.net": { txt: [edRecord] },
};

function body10k(i) {
  const line = `Line of a newsletter body, message ${i}, with some text to canonicalise.  \r\n`;
  let out = "";
  while (out.length < 10 * 1024) out += line;
  return out;
}

const messages = [];
for (let i = 0; i < 64; i++) {
  const from = i % 4 < 2 ? "news@mail.example.com" : "news@example.com";
  const signer = i % 2 === 0 ? "example.com" : "esp.example.net";
  const alg = i % 4 < 2 ? "rsa" : "ed";
  const msg = `From: News <${from}>\r\nTo: user@receiver.test\r\nSubject: Issue ${i}\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\nMessage-ID: <${i}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body10k(i)}`;
  const sig = signMessage(msg, { domain: signer, selector: alg, privateKey: alg === "rsa" ? rsa.privateKey : ed.privateKey });
  messages.push({ buf: Buffer.from(sig + msg), aligned: signer === "example.com" });
}

function ours(mode) {
  const dns = createDmarcZone(zoneData);
  return async (m) => {
    const dkim = await verifyMessage(m.buf, { resolver: dns });
    const v = await evaluateDmarc(
      { message: m.buf, dkim: dkim.map((d) => ({ domain: d.domain, selector: d.selector, result: d.result })) },
      { dns, mode, authservId: "bench.test" },
    );
    return v.result;
  };
}

function mailauth() {
  const dns = createDmarcZone(zoneData);
  const codes = { nxdomain: "ENOTFOUND", nodata: "ENODATA", timeout: "ETIMEOUT", servfail: "ESERVFAIL" };
  const resolver = async (name, type) => {
    const outcome = type === "TXT" ? await dns.txt(name) : await dns.a(name);
    if (outcome.kind === "answer") return outcome.records;
    throw Object.assign(new Error(`${type} ${outcome.kind} ${name}`), { code: codes[outcome.kind] });
  };
  return async (m) => {
    const dkim = await dkimVerify(m.buf, { resolver });
    const r = await mailauthDmarc({
      headerFrom: dkim.headerFrom,
      dkimDomains: dkim.results.filter((x) => x.status.result === "pass").map((x) => ({ domain: x.signingDomain })),
      spfDomains: [],
      resolver,
    });
    return r === false ? "none" : r.status.result;
  };
}

async function measure(run) {
  // correctness first: aligned messages pass, the others fail
  for (const m of messages) {
    const r = await run(m);
    if (r !== (m.aligned ? "pass" : "fail")) throw new Error(`unexpected result ${r} (aligned=${m.aligned})`);
  }
  let done = 0;
  const until = performance.now() + SECONDS * 1000;
  let i = 0;
  const worker = async () => {
    while (performance.now() < until) {
      await run(messages[i++ % messages.length]);
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return done / ((performance.now() - start) / 1000);
}

const contenders = [
  ["postern dkim + dmarc (rfc9989)", ours("rfc9989")],
  ["postern dkim + dmarc (rfc7489)", ours("rfc7489")],
  [`mailauth ${mailauthVersion} dkimVerify + dmarc`, mailauth()],
];

console.log(`bench:dmarc — ${messages.length} distinct 10 KB messages (${messages[0].buf.length} bytes signed), half rsa-sha256/2048, half ed25519; ${CONCURRENCY} in flight; ${ROUNDS} rounds of ${SECONDS} s`);
const results = new Map(contenders.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of contenders) results.get(name).push(await measure(run));
}
const base = median(results.get(contenders[2][0]));
for (const [name] of contenders) {
  const m = median(results.get(name));
  console.log(`${name.padEnd(44)} ${fmt(m).padStart(7)} msgs/s (median; rounds ${results.get(name).map((x) => fmt(x)).join(", ")})  x${fmt(m / base, 2)} vs mailauth`);
}
