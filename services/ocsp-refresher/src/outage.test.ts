/**
 * Issue 11, Done when 3: with the responder stopped the refresher backs off, the valid staple
 * keeps being served until its nextUpdate, and then none is.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Harness, startHarness, waitFor } from "./testing/harness";
import { FetchErrorCode } from "./errors";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 60_000);
afterAll(() => h?.close());

test("responder down: exponential backoff, staple kept until nextUpdate, then removed", async () => {
  const ctx = await h.start({ backoff: { initial_ms: 250, max_ms: 1000 } });
  await h.responder.use({ nmin: 5 });
  const certId = await h.announce("good");
  const first = await waitFor("staple", () => h.staple(certId));
  const nextUpdate = Date.parse(first.envelope.next_update);
  await waitFor("released", async () => (await h.cert(certId))?.record.lease === undefined);

  await h.responder.stop();
  await h.makeDue(certId);

  // Watch the record: each failure's retry delay is the backoff for that many failures.
  const delays = new Map<number, number>();
  await waitFor(
    "five failures",
    async () => {
      const r = (await h.cert(certId))?.record;
      if (r?.last_error !== undefined && r.lease === undefined) delays.set(r.failures, r.next_refresh_at - r.last_error.at);
      return (r?.failures ?? 0) >= 5;
    },
    20_000,
  );
  expect([...delays.entries()].filter(([n]) => n <= 5).sort((a, b) => a[0] - b[0])).toEqual([
    [1, 250],
    [2, 500],
    [3, 1000],
    [4, 1000],
    [5, 1000],
  ]);
  const record = (await h.cert(certId))?.record;
  expect(record?.last_error?.code).toBe(FetchErrorCode.Network);

  // Still valid: the staple stays in KV (same revision), at the edge and in the file.
  expect((await h.staple(certId))?.revision).toBe(first.revision);
  expect(h.edge.staples.filter((s) => s.certId === certId)).toHaveLength(1);
  expect(existsSync(join(h.stapleDir, `${certId}.der`))).toBe(true);
  expect(await ctx.metrics.getSingleMetricAsString("postern_ocsp_staple_expiry_seconds")).toMatch(new RegExp(`cert_id="${certId}".*\\} (2[0-9]{2}|300)\\b`));

  // The clock passes nextUpdate: the next (failing) attempt removes the staple everywhere.
  h.clock.offset = nextUpdate - Date.now() + 1000;
  await waitFor("staple removed", async () => (await h.staple(certId)) === undefined);
  await waitFor("file removed", () => !existsSync(join(h.stapleDir, `${certId}.der`)));
  expect(h.logs.some((l) => l.event === "ocsp.staple_expired" && l.cert_id === certId)).toBe(true);
  await waitFor("gauge cleared", async () => !(await ctx.metrics.getSingleMetricAsString("postern_ocsp_staple_expiry_seconds")).includes(certId));
  // what the edge got says until when it may be served, and that time has passed
  const pushed = h.edge.staples.find((s) => s.certId === certId);
  expect(pushed?.nextUpdate?.getTime()).toBe(nextUpdate);
  expect(pushed?.nextUpdate?.getTime()).toBeLessThan(Date.now() + h.clock.offset);
  // and it keeps trying, capped at max_ms
  const r = (await h.cert(certId))?.record;
  expect(r?.next_refresh_at).toBeLessThanOrEqual((r?.last_error?.at ?? 0) + 1000);
}, 60_000);
