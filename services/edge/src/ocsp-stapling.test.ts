import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { type Bus, codecs, connectBus, ensureTopology, natsConfigSchema, openKv, subjects } from "@postern/bus";
import { EdgeCallbackClient, type OcspWatchRequest, type Staple } from "@postern/proto";
import { type Backend, freePort, startNats } from "@postern/testing";
import { pino } from "pino";
import { natsSection, SmtpTestClient, startTestEdge, type TestEdge } from "./testing/harness";

const openssl = (args: string[]): void => {
  execFileSync("openssl", args, { stdio: "ignore" });
};

/** A CA and a leaf it signed for `cn`; the certificate file holds the leaf, then the CA. */
function makeChain(dir: string, cn: string): { certificate: string; privatekey: string; leafDer: Buffer; issuerDer: Buffer } {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-days", "2", "-subj", `/CN=CA for ${cn}`, "-keyout", join(dir, `${cn}-ca.key`), "-out", join(dir, `${cn}-ca.crt`)]);
  openssl(["req", "-new", ...ec, "-subj", `/CN=${cn}`, "-keyout", join(dir, `${cn}.key`), "-out", join(dir, `${cn}.csr`)]);
  writeFileSync(join(dir, `${cn}.ext`), `subjectAltName=DNS:${cn}\n`);
  openssl(["x509", "-req", "-in", join(dir, `${cn}.csr`), "-CA", join(dir, `${cn}-ca.crt`), "-CAkey", join(dir, `${cn}-ca.key`), "-CAcreateserial", "-days", "2", "-extfile", join(dir, `${cn}.ext`), "-out", join(dir, `${cn}.leaf`)]);
  const leafPem = readFileSync(join(dir, `${cn}.leaf`), "utf8");
  const caPem = readFileSync(join(dir, `${cn}-ca.crt`), "utf8");
  const certificate = join(dir, `${cn}.crt`);
  writeFileSync(certificate, leafPem + caPem);
  return { certificate, privatekey: join(dir, `${cn}.key`), leafDer: Buffer.from(new X509Certificate(leafPem).raw), issuerDer: Buffer.from(new X509Certificate(caPem).raw) };
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** STARTTLS with status_request; the stapled response (undefined when none). */
async function stapled(port: number, servername?: string): Promise<Buffer | undefined> {
  const c = await SmtpTestClient.open(port);
  let staple: Buffer | undefined;
  try {
    await c.greet();
    const r = await c.command("STARTTLS");
    if (!r.startsWith("220 ")) throw new Error(r);
    c.socket.removeAllListeners("data");
    // requestOCSP (status_request) is honoured by tls.connect but missing from @types/node's ConnectionOptions
    const opts: ConnectionOptions & { requestOCSP: boolean } = { socket: c.socket, rejectUnauthorized: false, requestOCSP: true, ...(servername === undefined ? {} : { servername }) };
    const tls = tlsConnect(opts);
    // Node emits null when the server staples nothing
    tls.on("OCSPResponse", (resp: Buffer | null) => {
      if (resp !== null && resp.length > 0) staple = resp;
    });
    await new Promise<void>((resolve, reject) => tls.once("secureConnect", resolve).once("error", reject));
    tls.destroy();
    return staple;
  } finally {
    c.close();
  }
}

function putStaple(client: EdgeCallbackClient, staple: Staple): Promise<void> {
  return new Promise((resolve, reject) => client.putStaple(staple, (err) => (err ? reject(err) : resolve())));
}

describe("edge: OCSP stapling on STARTTLS", () => {
  let nats: Backend;
  let dir: string;
  let bus: Bus;
  let edge: TestEdge;
  let client: EdgeCallbackClient;
  let grpcPort: number;
  let main: ReturnType<typeof makeChain>;
  let sni: ReturnType<typeof makeChain>;
  const announced: OcspWatchRequest[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "postern-edge-ocsp-"));
    main = makeChain(dir, "edge.test");
    sni = makeChain(dir, "mx.sni.test");
    nats = await startNats();
    const config = natsConfigSchema.parse(natsSection(nats));
    bus = await connectBus(config, { name: "edge-ocsp-test", logger: pino({ level: "silent" }) });
    await ensureTopology(bus, config.jetstream);
    bus.nc.subscribe(subjects.ocspWatch, {
      callback: (_err, m) => {
        announced.push(codecs.ocspWatch.decode(m.data));
      },
    });
    await bus.nc.flush();
    grpcPort = await freePort();
    edge = await startTestEdge(nats, {
      tls_certificate: main.certificate,
      tls_privatekey: main.privatekey,
      tls_sni: { "mx.sni.test": { certificate: sni.certificate, privatekey: sni.privatekey } },
      grpc: { listen: `127.0.0.1:${grpcPort}` },
    });
    client = new EdgeCallbackClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await edge?.stop();
    await bus?.drain();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("announces every served chain with its cert id, issuer and our EdgeCallback address", async () => {
    for (let i = 0; i < 50 && announced.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const byId = new Map(announced.map((a) => [a.certId, a]));
    for (const c of [main, sni]) {
      const a = byId.get(sha256(c.leafDer));
      expect(a).toBeDefined();
      expect(a?.leafDer.equals(c.leafDer)).toBe(true);
      expect(a?.issuerDer.equals(c.issuerDer)).toBe(true);
      expect(a?.replyTo?.grpcAddress).toBe(`127.0.0.1:${grpcPort}`);
    }
  });

  it("staples nothing before a staple arrives, then the pushed staple per certificate (with and without SNI)", async () => {
    expect(await stapled(edge.port)).toBeUndefined();
    const der = Buffer.from("3003 0a01 00".replace(/ /g, ""), "hex");
    const sniDer = Buffer.from("3003 0a01 01".replace(/ /g, ""), "hex");
    const now = Date.now();
    await putStaple(client, { certId: sha256(main.leafDer), ocspResponseDer: der, thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 3_600_000) });
    await putStaple(client, { certId: sha256(sni.leafDer), ocspResponseDer: sniDer, thisUpdate: new Date(now - 60_000), nextUpdate: new Date(now + 3_600_000) });
    expect((await stapled(edge.port))?.equals(der)).toBe(true);
    expect((await stapled(edge.port, "other.test"))?.equals(der)).toBe(true);
    expect((await stapled(edge.port, "mx.sni.test"))?.equals(sniDer)).toBe(true);
  });

  it("never staples an expired response", async () => {
    const now = Date.now();
    const id = sha256(sni.leafDer);
    // already expired: refused by the store; the held one stays
    await putStaple(client, { certId: id, ocspResponseDer: Buffer.from("300a", "hex"), thisUpdate: new Date(now), nextUpdate: new Date(now - 1000) });
    expect((await stapled(edge.port, "mx.sni.test"))?.equals(Buffer.from("30030a0101", "hex"))).toBe(true);
    // expires while held: served until nextUpdate, then not
    const der = Buffer.from("30030a0102", "hex");
    await putStaple(client, { certId: id, ocspResponseDer: der, thisUpdate: new Date(now), nextUpdate: new Date(now + 1500) });
    expect((await stapled(edge.port, "mx.sni.test"))?.equals(der)).toBe(true);
    await new Promise((r) => setTimeout(r, 1600 - (Date.now() - now)));
    expect(await stapled(edge.port, "mx.sni.test")).toBeUndefined();
  });

  it("announces a reloaded certificate at once", async () => {
    const renewed = makeChain(mkdtempSync(join(dir, "renewed-")), "mx.sni.test");
    writeFileSync(sni.certificate, readFileSync(renewed.certificate));
    writeFileSync(sni.privatekey, readFileSync(renewed.privatekey));
    const id = sha256(renewed.leafDer);
    expect(announced.some((a) => a.certId === id)).toBe(false);
    expect(await stapled(edge.port, "mx.sni.test")).toBeUndefined(); // the STARTTLS that notices the new files
    for (let i = 0; i < 50 && !announced.some((a) => a.certId === id); i++) await new Promise((r) => setTimeout(r, 20));
    expect(announced.find((a) => a.certId === id)?.issuerDer.equals(renewed.issuerDer)).toBe(true);
  });

  it("staples at once from KV ocsp-staples after a restart", async () => {
    const kv = await openKv(bus, "ocsp-staples");
    const now = Date.now();
    const der = Buffer.from("30030a0103", "hex");
    const envelope = {
      v: 1,
      status: "revoked",
      this_update: new Date(now - 60_000).toISOString(),
      next_update: new Date(now + 3_600_000).toISOString(),
      produced_at: new Date(now - 60_000).toISOString(),
      revocation_time: new Date(now - 120_000).toISOString(),
      revocation_reason: "keyCompromise",
      signer: { kind: "issuer", subject: "CN=CA", not_after: new Date(now + 86_400_000).toISOString() },
      responder: "http://ocsp.test/",
      fetched_at: new Date(now).toISOString(),
      der: der.toString("base64"),
    };
    await kv.put(sha256(main.leafDer), JSON.stringify(envelope));
    const second = await startTestEdge(nats, { tls_certificate: main.certificate, tls_privatekey: main.privatekey });
    try {
      expect((await stapled(second.port))?.equals(der)).toBe(true);
    } finally {
      await second.stop();
      await kv.delete(sha256(main.leafDer));
    }
  });
});
