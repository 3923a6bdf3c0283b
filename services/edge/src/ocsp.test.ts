import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { codecs, subjects } from "@postern/bus";
import { pino } from "pino";
import { StapleStore } from "./callback";
import { certIdOf, chainFromPem, loadStaplesFromKv, OcspAnnouncer, OcspFile, OcspStapler, type ServedChain, stapleFromEnvelope, watchRequest } from "./ocsp";

const PKI_SCRIPT = resolve(__dirname, "../../../tests/fixtures/ocsp/pki.sh");
const silent = pino({ level: "silent" });
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

let dir: string;
const file = (name: string): string => join(dir, name);
const pem = (name: string): string => readFileSync(file(`${name}.crt`), "utf8");
const der = (name: string): Buffer => Buffer.from(new X509Certificate(pem(name)).raw);
let n = 0;
/** A real response from `openssl ocsp` for `cert`, signed by the delegated signer. */
function respond(cert: string, nmin = 60): Buffer {
  const id = ++n;
  const env = { ...process.env, LEAF_NAME: "unused.ocsp.test" };
  const run = (args: string[]): void => {
    execFileSync("openssl", args, { stdio: "ignore", env });
  };
  run(["ocsp", "-issuer", file("ca.crt"), "-cert", file(`${cert}.crt`), "-no_nonce", "-reqout", file(`req-${id}.der`)]);
  run(["ocsp", "-index", file("index.txt"), "-CA", file("ca.crt"), "-rsigner", file("signer.crt"), "-rkey", file("signer.key"), "-reqin", file(`req-${id}.der`), "-respout", file(`resp-${id}.der`), "-nmin", String(nmin)]);
  return readFileSync(file(`resp-${id}.der`));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-edge-ocsp-unit-"));
  execFileSync("bash", [PKI_SCRIPT, dir, "9"], { stdio: "ignore" });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("cert id and chains", () => {
  it("takes the leaf and the next certificate of the PEM chain; cert id is the leaf's lower-case hex SHA-256", () => {
    const chain = chainFromPem(pem("good") + pem("ca"));
    expect(chain?.leaf.equals(der("good"))).toBe(true);
    expect(chain?.issuer?.equals(der("ca"))).toBe(true);
    expect(chain?.certId).toBe(sha256(der("good")));
    expect(chain?.certId).toMatch(/^[0-9a-f]{64}$/);
    expect(certIdOf(der("good"))).toBe(chain?.certId);
    expect(chainFromPem(pem("good"))?.issuer).toBeUndefined();
    expect(chainFromPem("no certificate here")).toBeUndefined();
  });

  it("builds the OcspWatchRequest with our EdgeCallback address, none without an issuer", () => {
    const chain = chainFromPem(pem("good") + pem("ca")) as ServedChain;
    const req = watchRequest(chain, "10.0.0.7:50051");
    expect(req).toMatchObject({ certId: chain.certId, replyTo: { grpcAddress: "10.0.0.7:50051" } });
    const decoded = codecs.ocspWatch.decode(codecs.ocspWatch.encode(req!));
    expect(decoded.leafDer.equals(der("good"))).toBe(true);
    expect(decoded.issuerDer.equals(der("ca"))).toBe(true);
    expect(watchRequest({ certId: chain.certId, leaf: chain.leaf }, "10.0.0.7:50051")).toBeUndefined();
  });
});

describe("OcspAnnouncer", () => {
  const good = (): ServedChain => chainFromPem(pem("good") + pem("ca")) as ServedChain;
  const other = (): ServedChain => chainFromPem(pem("other") + pem("ca")) as ServedChain;

  it("publishes each chain once on postern.v1.ocsp.watch and skips chains without an issuer", () => {
    const sent: Array<[string, Uint8Array]> = [];
    const chains = [
      { name: "", chain: good() },
      { name: "alias", chain: good() },
      { name: "mx", chain: other() },
      { name: "self", chain: { certId: "a".repeat(64), leaf: der("noaia") } },
    ];
    const a = new OcspAnnouncer((s, d) => sent.push([s, d]), () => chains, "127.0.0.1:50051", silent);
    expect(a.announceAll()).toBe(2);
    expect(sent.map(([s]) => s)).toEqual([subjects.ocspWatch, subjects.ocspWatch]);
    expect(sent.map(([, d]) => codecs.ocspWatch.decode(d).certId)).toEqual([good().certId, other().certId]);
  });

  it("re-announces on its interval until stopped; a failing publish does not throw", async () => {
    let count = 0;
    const a = new OcspAnnouncer(
      () => {
        count += 1;
        if (count === 2) throw new Error("connection closed");
      },
      () => [{ name: "", chain: good() }],
      "127.0.0.1:50051",
      silent,
    );
    a.start(20);
    expect(count).toBe(1);
    await new Promise((r) => setTimeout(r, 90));
    a.stop();
    const seen = count;
    expect(seen).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 60));
    expect(count).toBe(seen);
  });
});

describe("KV ocsp-staples at start", () => {
  const now = new Date("2026-11-27T12:00:00.000Z");
  const envelope = (over: Record<string, unknown> = {}): Uint8Array =>
    Buffer.from(
      JSON.stringify({
        v: 1,
        status: "good",
        this_update: "2026-11-27T11:00:00.000Z",
        next_update: "2026-11-28T11:00:00.000Z",
        produced_at: "2026-11-27T11:00:00.000Z",
        signer: { kind: "delegated", subject: "CN=signer", not_after: "2027-01-01T00:00:00.000Z" },
        responder: "http://ocsp.test/",
        fetched_at: "2026-11-27T11:00:01.000Z",
        der: Buffer.from("30030a0100", "hex").toString("base64"),
        ...over,
      }),
    );

  it("reads a valid envelope (good or revoked) as a Staple and refuses invalid or expired ones", () => {
    const s = stapleFromEnvelope("ab", envelope(), now);
    expect(s?.ocspResponseDer.toString("hex")).toBe("30030a0100");
    expect(s?.nextUpdate?.toISOString()).toBe("2026-11-28T11:00:00.000Z");
    expect(stapleFromEnvelope("ab", envelope({ status: "revoked", revocation_time: "2026-11-27T10:00:00.000Z" }), now)).toBeDefined();
    expect(stapleFromEnvelope("ab", envelope({ status: "unknown" }), now)).toBeUndefined();
    expect(stapleFromEnvelope("ab", envelope({ v: 2 }), now)).toBeUndefined();
    expect(stapleFromEnvelope("ab", envelope({ next_update: "2026-11-27T11:59:59.000Z" }), now)).toBeUndefined();
    expect(stapleFromEnvelope("ab", envelope({ der: "" }), now)).toBeUndefined();
    expect(stapleFromEnvelope("ab", envelope({ der: "not base64!" }), now)).toBeUndefined();
    expect(stapleFromEnvelope("ab", Buffer.from("{"), now)).toBeUndefined();
  });

  it("loads the valid staples of the served certificates into the store; a failing read is skipped", async () => {
    const ids = ["1".repeat(64), "2".repeat(64), "3".repeat(64), "4".repeat(64), "5".repeat(64)];
    const values: Record<string, { value: Uint8Array; operation: "PUT" | "DEL" } | "throw"> = {
      [ids[0]!]: { value: envelope(), operation: "PUT" },
      [ids[1]!]: { value: envelope({ next_update: "2026-11-27T11:00:00.000Z" }), operation: "PUT" },
      [ids[2]!]: { value: new Uint8Array(), operation: "DEL" },
      [ids[3]!]: "throw",
    };
    const kv = {
      get: (key: string) => {
        const v = values[key];
        if (v === "throw") return Promise.reject(new Error("timeout"));
        return Promise.resolve(v === undefined ? null : ({ ...v, key } as never));
      },
    };
    const store = new StapleStore();
    expect(await loadStaplesFromKv(kv as never, ids, store, silent, now)).toBe(1);
    expect(store.get(ids[0]!, now)?.ocspResponseDer.toString("hex")).toBe("30030a0100");
    for (const id of ids.slice(1)) expect(store.get(id, now)).toBeUndefined();
  });
});

describe("tls_ocsp_file and the stapler", () => {
  it("serves the file for the default certificate while it verifies, re-reading it when it changes", async () => {
    const chain = chainFromPem(pem("good") + pem("ca")) as ServedChain;
    const path = file("staple.der");
    const resp = respond("good");
    writeFileSync(path, resp);
    const f = new OcspFile(path, () => chain, silent);
    expect((await f.current())?.ocspResponseDer.equals(resp)).toBe(true);
    expect((await f.current(new Date(Date.now() + 2 * 3_600_000)))).toBeUndefined(); // past nextUpdate

    writeFileSync(path, respond("other")); // another certificate's response
    expect(await f.current()).toBeUndefined();
    writeFileSync(path, Buffer.from("garbage"));
    expect(await f.current()).toBeUndefined();
    rmSync(path);
    expect(await f.current()).toBeUndefined();

    const noIssuer = new OcspFile(path, () => ({ certId: chain.certId, leaf: chain.leaf }), silent);
    writeFileSync(path, resp);
    expect(await noIssuer.current()).toBeUndefined();
  });

  it("answers with the newer of the pushed staple and the file, and nothing for other certificates", async () => {
    const chain = chainFromPem(pem("good") + pem("ca")) as ServedChain;
    const path = file("staple2.der");
    const resp = respond("good");
    writeFileSync(path, resp);
    const store = new StapleStore();
    const stapler = new OcspStapler(store, new OcspFile(path, () => chain, silent));
    expect((await stapler.responseFor(der("good")))?.equals(resp)).toBe(true);
    expect(await stapler.responseFor(der("other"))).toBeUndefined();
    expect(await stapler.responseFor(null)).toBeUndefined();
    const pushed = Buffer.from("30030a0100", "hex");
    store.put({ certId: chain.certId, ocspResponseDer: pushed, thisUpdate: new Date(Date.now() + 1000), nextUpdate: new Date(Date.now() + 3_600_000) });
    expect((await stapler.responseFor(der("good")))?.equals(pushed)).toBe(true);
    store.put({ certId: certIdOf(der("other")), ocspResponseDer: pushed, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 3_600_000) });
    expect((await stapler.responseFor(der("other")))?.equals(pushed)).toBe(true);
  });
});
