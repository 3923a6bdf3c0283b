/**
 * Issue 8, "Done when" 1 (second half): libs/dkim and dkimpy (Debian
 * python3-dkim) sign and verify the same generated messages — varied header
 * fields, folding whitespace, line ends, l=, both canonicalisations for
 * header and body, rsa-sha256 (1024 and 2048 bits) and ed25519-sha256 — and
 * never disagree. Each side signs and the other verifies; then tampered
 * copies (test/generate.ts `tamper`) are verified by both, and the verdicts
 * must be equal. Every untampered message must pass on both sides, so that
 * agreement cannot come from both failing.
 *
 * One dkimpy process answers every request (JSON lines, test/dkimpy_bridge.py).
 * POSTERN_DKIM_DIFF_RUNS sets the number of messages (default 1000),
 * POSTERN_DKIM_DIFF_SEED the seed. Skipped, with a note, when
 * /usr/bin/python3 cannot import dkim (scripts/bootstrap.sh installs it).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { createDkimZone, type CanonicalizationPair, type DkimResult, signMessage, verifyMessage } from "./index";
import { generateMessage, pick, rng, tamper, tamperings, type Rng, type Tampering } from "./test/generate";

const RUNS = Number(process.env.POSTERN_DKIM_DIFF_RUNS ?? 1000);
const SEED = Number(process.env.POSTERN_DKIM_DIFF_SEED ?? 20261127);
const PYTHON = "/usr/bin/python3";
const haveDkimpy = spawnSync(PYTHON, ["-c", "import dkim, nacl"], { stdio: "ignore" }).status === 0;
if (!haveDkimpy) console.warn("differential test skipped: /usr/bin/python3 cannot import dkim and nacl (apt-get install python3-dkim)");

/** A dkimpy process answering JSON-line requests in order. */
class Dkimpy {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = "";
  constructor() {
    this.child = spawn(PYTHON, [join(__dirname, "test", "dkimpy_bridge.py")], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr.on("data", (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout }).on("line", (line) => this.waiting.shift()?.(line));
    this.child.on("exit", (code) => {
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `dkimpy exited (${code}): ${this.stderr.slice(-500)}` }));
    });
  }
  /** Sends all requests at once and resolves with the answers in order. */
  batch(requests: readonly object[]): Promise<Record<string, unknown>[]> {
    const answers = requests.map(() => new Promise<Record<string, unknown>>((resolve) => this.waiting.push((line) => resolve(JSON.parse(line) as Record<string, unknown>))));
    this.child.stdin.write(requests.map((r) => `${JSON.stringify(r)}\n`).join(""));
    return Promise.all(answers);
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once("exit", () => resolve());
      this.child.stdin.end();
    });
  }
}

interface Signer {
  readonly alg: "rsa-sha256" | "ed25519-sha256";
  readonly selector: string;
  readonly nodeKey: string;
  /** dkimpy's form: PEM for RSA, the base64 seed for Ed25519. */
  readonly pyKey: string;
  readonly record: string;
}

function makeSigners(): Signer[] {
  const rsa = (bits: number, selector: string): Signer => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
    const pem = privateKey.export({ format: "pem", type: "pkcs1" }).toString();
    const spki = publicKey.export({ format: "der", type: "spki" }).toString("base64");
    return { alg: "rsa-sha256", selector, nodeKey: pem, pyKey: pem, record: `v=DKIM1; k=rsa; p=${spki}` };
  };
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d as string, "base64url").toString("base64");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url").toString("base64");
  return [rsa(1024, "rsa1024"), rsa(2048, "rsa2048"), { alg: "ed25519-sha256", selector: "ed", nodeKey: seed, pyKey: seed, record: `v=DKIM1; k=ed25519; p=${raw}` }];
}

interface Case {
  readonly index: number;
  readonly message: Buffer;
  readonly signer: Signer;
  readonly domain: string;
  readonly canon: CanonicalizationPair;
  readonly length: boolean;
  readonly headers: readonly string[] | null;
  readonly identity: string | null;
  readonly tampering: Tampering;
  readonly chunked: boolean;
}

const CANONS: readonly CanonicalizationPair[] = ["simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"];

function makeCase(r: Rng, index: number, signers: readonly Signer[]): Case {
  const domain = pick(r, ["example.com", "mail.example.org"]);
  return {
    index,
    message: generateMessage(r),
    // RSA-2048 less often: dkimpy signs in pure Python (16 ms per 2048-bit signature, 3 ms at 1024).
    signer: pick(r, [0, 0, 0, 1, 2, 2, 2].map((k) => signers[k] as Signer)),
    domain,
    canon: pick(r, CANONS),
    length: r() < 0.25,
    headers: r() < 0.3 ? ["from", "subject", "to", "date"] : null,
    identity: r() < 0.2 ? pick(r, [`@${domain}`, `joe@sub.${domain}`]) : null,
    tampering: r() < 0.4 ? "none" : pick(r, tamperings),
    chunked: r() < 0.5,
  };
}

function chunks(r: Rng, message: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < message.length; ) {
    const n = 1 + Math.floor(r() * 300);
    parts.push(message.subarray(i, i + n));
    i += n;
  }
  return Readable.from(parts);
}

(haveDkimpy ? describe : describe.skip)("differential: libs/dkim and dkimpy", () => {
  let py: Dkimpy;
  beforeAll(() => {
    py = new Dkimpy();
  });
  afterAll(() => py?.close());

  it(`${RUNS} generated messages: each side signs, the other verifies, tampered copies get the same verdict`, async () => {
    const r = rng(SEED);
    const signers = makeSigners();
    const dns: Record<string, string> = {};
    for (const s of signers) for (const d of ["example.com", "mail.example.org"]) dns[`${s.selector}._domainkey.${d}`] = s.record;
    const zone = createDkimZone(dns);
    const cases = Array.from({ length: RUNS }, (_, i) => makeCase(r, i, signers));
    const nodeVerify = async (c: Case, message: Buffer): Promise<DkimResult | undefined> =>
      (await verifyMessage(c.chunked ? chunks(r, message) : message, { resolver: zone }))[0];

    // libs/dkim signs (dkimpy's default header list when the case has none: both sign From at least).
    const nodeSigned = cases.map((c) => {
      const sig = signMessage(c.message, {
        domain: c.domain,
        selector: c.signer.selector,
        privateKey: c.signer.nodeKey,
        canonicalization: c.canon,
        bodyLength: c.length,
        ...(c.headers !== null && { headers: c.headers }),
        ...(c.identity !== null && { identity: c.identity }),
      });
      return Buffer.concat([Buffer.from(sig, "latin1"), c.message]);
    });
    // dkimpy signs every message and verifies what libs/dkim signed (and its tampered copy).
    const [pySigs, pyOnNode, pyOnNodeTampered] = await Promise.all([
      py.batch(
        cases.map((c) => ({
          op: "sign",
          msg: c.message.toString("base64"),
          selector: c.signer.selector,
          domain: c.domain,
          key: c.signer.pyKey,
          alg: c.signer.alg,
          canon: c.canon.split("/"),
          headers: c.headers,
          length: c.length,
          identity: c.identity,
        })),
      ),
      py.batch(nodeSigned.map((m) => ({ op: "verify", msg: m.toString("base64"), dns }))),
      py.batch(cases.map((c, i) => ({ op: "verify", msg: tamper(nodeSigned[i] as Buffer, c.tampering).toString("base64"), dns }))),
    ]);
    const pySigned = cases.map((c, i) => {
      const a = pySigs[i] as { sig?: string; error?: string };
      if (a.sig === undefined) throw new Error(`dkimpy could not sign case ${i}: ${a.error}`);
      return Buffer.concat([Buffer.from(a.sig, "base64"), c.message]);
    });
    const [pyOnPy, pyOnPyTampered] = await Promise.all([
      py.batch(pySigned.map((m) => ({ op: "verify", msg: m.toString("base64"), dns }))),
      py.batch(cases.map((c, i) => ({ op: "verify", msg: tamper(pySigned[i] as Buffer, c.tampering).toString("base64"), dns }))),
    ]);

    const problems: string[] = [];
    const tally = { agreeingPass: 0, agreeingFail: 0, tampered: 0 };
    const describeCase = (c: Case): string =>
      `case ${c.index} (${c.signer.alg}/${c.signer.selector} c=${c.canon} l=${c.length} h=${c.headers === null ? "default" : "list"} i=${c.identity} tamper=${c.tampering} chunked=${c.chunked})`;
    for (const c of cases) {
      const i = c.index;
      const checks: [string, Buffer, unknown][] = [
        ["libs/dkim-signed", nodeSigned[i] as Buffer, (pyOnNode[i] as { ok?: boolean }).ok],
        ["dkimpy-signed", pySigned[i] as Buffer, (pyOnPy[i] as { ok?: boolean }).ok],
        ["libs/dkim-signed, tampered", tamper(nodeSigned[i] as Buffer, c.tampering), (pyOnNodeTampered[i] as { ok?: boolean }).ok],
        ["dkimpy-signed, tampered", tamper(pySigned[i] as Buffer, c.tampering), (pyOnPyTampered[i] as { ok?: boolean }).ok],
      ];
      for (const [what, message, pyOk] of checks) {
        const ours = await nodeVerify(c, message);
        const nodeOk = ours?.result === "pass";
        if (typeof pyOk !== "boolean") problems.push(`${describeCase(c)} ${what}: dkimpy error`);
        else if (nodeOk !== pyOk) problems.push(`${describeCase(c)} ${what}: libs/dkim ${ours?.result} (${ours?.reason}), dkimpy ${pyOk ? "pass" : "fail"}`);
        else if (!what.includes("tampered") && !nodeOk) problems.push(`${describeCase(c)} ${what}: both fail an untampered message: ${ours?.reason}`);
        else if (nodeOk) tally.agreeingPass++;
        else tally.agreeingFail++;
        if (what.includes("tampered") && c.tampering !== "none") tally.tampered++;
      }
    }
    console.log(`differential: ${RUNS} messages, ${RUNS * 4} verdict pairs: ${tally.agreeingPass} pass on both, ${tally.agreeingFail} fail on both, ${problems.length} disagreements`);
    expect(problems.slice(0, 20)).toEqual([]);
    expect(tally.agreeingFail).toBeGreaterThan(RUNS / 20); // the tamperings do break signatures
  }, 600_000);
});
