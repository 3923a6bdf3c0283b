import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type ServiceContext } from "@postern/service-kit";
import { type OcspRefresherConfig } from "./config";
import { certIdOf, type Harness, startHarness, waitFor } from "./testing/harness";

let h: Harness;
let first: ServiceContext<OcspRefresherConfig>;
beforeAll(async () => {
  h = await startHarness();
  first = await h.start();
}, 60_000);
afterAll(() => h?.close());

const fileIs = (certId: string, der: Buffer): boolean => {
  const path = join(h.stapleDir, `${certId}.der`);
  return existsSync(path) && readFileSync(path).equals(der);
};
const attr = (e: { attributes: Record<string, string> }, k: string): string | undefined => e.attributes[k];

describe("ocsp-refresher against openssl ocsp", () => {
  let goodId: string;

  test("an announced certificate gets a verified staple in KV, at the edge and in the staple file", async () => {
    goodId = await h.announce("good");
    const { envelope } = await waitFor("staple for good", () => h.staple(goodId));
    expect(envelope).toMatchObject({ v: 1, status: "good", responder: h.responder.url, signer: { kind: "delegated", subject: "CN=signer.ocsp.test" } });
    const validity = Date.parse(envelope.next_update) - Date.parse(envelope.this_update);
    expect(validity).toBe(24 * 3600 * 1000); // the responder runs with -ndays 1
    const der = Buffer.from(envelope.der, "base64");

    const pushed = await waitFor("PutStaple", () => h.edge.staples.find((s) => s.certId === goodId));
    expect(Buffer.compare(pushed.ocspResponseDer, der)).toBe(0);
    expect(pushed.nextUpdate?.toISOString()).toBe(new Date(envelope.next_update).toISOString());
    await waitFor("staple file", () => fileIs(goodId, der));

    const { record } = await waitFor("lease released", async () => {
      const c = await h.cert(goodId);
      return c?.record.lease === undefined && c?.record.failures === 0 ? c : undefined;
    });
    // half the validity (refresh_fraction 0.5)
    expect(Math.abs(record.next_refresh_at - (Date.parse(envelope.this_update) + validity / 2))).toBeLessThan(1000);
    expect(Object.keys(record.edges)).toEqual([h.edge.address]);

    const refresh = await waitFor("ocsp:refresh", () => h.events.find((e) => e.name === "ocsp:refresh" && attr(e, "cert_id") === goodId));
    expect(attr(refresh, "status")).toBe("good");
    expect(h.events.some((e) => e.name === "ocsp:revoked")).toBe(false);
  });

  test("metrics: seconds until expiry per certificate and fetch results", async () => {
    const ctx = await h.start(); // a second instance: metrics come from the shared KV
    const text = await waitFor("expiry gauge", async () => {
      const t = await ctx.metrics.metrics();
      return new RegExp(`postern_ocsp_staple_expiry_seconds\\{cert_id="${goodId}"[^}]*\\} (\\S+)`).exec(t) ?? undefined;
    });
    const seconds = Number(text[1]);
    expect(seconds).toBeGreaterThan(23 * 3600);
    expect(seconds).toBeLessThanOrEqual(24 * 3600);
    const fetches = await first.metrics.getSingleMetricAsString("postern_ocsp_fetches_total");
    expect(fetches).toMatch(/postern_ocsp_fetches_total\{result="good",code="".*\} 1/);
  });

  test("revocation: the KV staple becomes the revoked response, the edge gets it, ocsp:revoked is emitted", async () => {
    const flipId = await h.announce("flip");
    const first = await waitFor("good staple for flip", () => h.staple(flipId));
    expect(first.envelope.status).toBe("good");
    await waitFor("flip released", async () => (await h.cert(flipId))?.record.lease === undefined);
    await new Promise((r) => setTimeout(r, 1100)); // thisUpdate has one-second resolution
    await h.responder.revoke("flip");
    await h.makeDue(flipId);

    const revoked = await waitFor("revoked staple", async () => {
      const s = await h.staple(flipId);
      return s?.envelope.status === "revoked" ? s : undefined;
    });
    expect(revoked.envelope.revocation_reason).toBe("keyCompromise");
    expect(Date.parse(revoked.envelope.this_update)).toBeGreaterThan(Date.parse(first.envelope.this_update));
    const event = await waitFor("ocsp:revoked", () => h.events.find((e) => e.name === "ocsp:revoked" && attr(e, "cert_id") === flipId));
    expect(attr(event, "revocation_reason")).toBe("keyCompromise");
    expect(attr(event, "revocation_time")).toBe(revoked.envelope.revocation_time);
    const der = Buffer.from(revoked.envelope.der, "base64");
    await waitFor("revoked staple pushed", () => h.edge.staples.some((s) => s.certId === flipId && s.ocspResponseDer.equals(der)));
    await waitFor("revoked staple file", () => fileIs(flipId, der));

    // still revoked on the next refresh: no second ocsp:revoked. As above: the lease
    // must be gone and a second must pass, or the refresh may find nothing newer to store.
    await waitFor("flip released again", async () => (await h.cert(flipId))?.record.lease === undefined);
    await new Promise((r) => setTimeout(r, 1100));
    await h.makeDue(flipId);
    await waitFor("second refresh", async () => {
      const s = await h.staple(flipId);
      return s !== undefined && s.revision !== revoked.revision;
    });
    expect(h.events.filter((e) => e.name === "ocsp:revoked" && attr(e, "cert_id") === flipId)).toHaveLength(1);
  });

  test("with several instances, one fetch per due certificate (the KV lease)", async () => {
    await h.start();
    const otherId = await h.announce("other");
    await waitFor("staple for other", () => h.staple(otherId));
    await waitFor("other released", async () => (await h.cert(otherId))?.record.lease === undefined);
    for (let round = 0; round < 3; round++) {
      const before = h.responder.requests;
      const { revision } = (await h.staple(otherId)) ?? { revision: 0 };
      await new Promise((r) => setTimeout(r, 1100)); // a new thisUpdate, so the staple changes
      await h.makeDue(otherId);
      await waitFor("refreshed", async () => {
        const [s, c] = [await h.staple(otherId), await h.cert(otherId)];
        return s !== undefined && s.revision !== revision && c !== undefined && c.record.lease === undefined && c.record.next_refresh_at > 0;
      });
      await new Promise((r) => setTimeout(r, 400)); // three instances scan every 100 ms
      expect(h.responder.requests - before).toBe(1);
    }
  });

  test("announcements that do not check out are not watched", async () => {
    const leaf = h.responder.der("noaia");
    const good = h.responder.der("good");
    const bad = [
      { certId: "0".repeat(64), leafDer: good, issuerDer: h.responder.der("ca") }, // cert_id is not the leaf's hash
      { certId: certIdOf(good), leafDer: good, issuerDer: h.responder.der("other-ca") }, // not the issuer
      { certId: certIdOf(leaf), leafDer: leaf, issuerDer: h.responder.der("ca") }, // no AIA, no override
    ];
    for (const b of bad) await h.publishRaw({ ...b, replyTo: { grpcAddress: h.edge.address, txnId: "" } });
    await h.publishRaw({ certId: certIdOf(good), leafDer: good, issuerDer: h.responder.der("ca"), replyTo: { grpcAddress: "not an address", txnId: "" } });
    await waitFor("rejections logged", () => h.logs.filter((l) => l.event === "ocsp.watch_rejected").length >= 4);
    const codes = h.logs.filter((l) => l.event === "ocsp.watch_rejected").map((l) => l.code);
    expect(codes).toEqual(
      expect.arrayContaining(["POSTERN_OCSP_WATCH_CERT_ID", "POSTERN_OCSP_BAD_CERTIFICATE", "POSTERN_OCSP_NO_RESPONDER", "POSTERN_OCSP_WATCH_REPLY_TO"]),
    );
    expect(await h.cert("0".repeat(64))).toBeUndefined();
    expect(await h.cert(certIdOf(leaf))).toBeUndefined();
    expect(existsSync(join(h.stapleDir, `${certIdOf(leaf)}.der`))).toBe(false);
  });
});
