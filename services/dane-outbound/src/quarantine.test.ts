import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { QUARANTINE_ROUTER, routeGroups } from "./attempt";
import { configSchema } from "./config";
import { parseRoute, type Route } from "./routes";
import { freePort, hasComplete, inlineBody, OutcomesSink, rcpts, startHarness, type Harness } from "./test-harness";
import { type Target } from "./types";

jest.setTimeout(60_000);

function r(spec: string): Route {
  const route = parseRoute(spec);
  if ("error" in route) throw new Error(route.error);
  return route;
}
const target = (pos: number, address: string): Target => {
  const at = address.lastIndexOf("@");
  return { pos, address, localPart: address.slice(0, at), domain: address.slice(at + 1), notify: [], orcpt: "" };
};

describe("routeGroups", () => {
  const routes = new Map([
    ["a.test", r("smtp:127.0.0.1:2525")],
    ["*", r("mx")],
  ]);
  const targets = [target(0, "x@a.test"), target(1, "y@b.test"), target(2, "z@a.test"), target(3, "w@nowhere.test")];
  const quarantine = r("maildir:/var/spool/postern/quarantine");
  const summary = (q: { route: Route | undefined; quarantined: boolean }, table: ReadonlyMap<string, Route> = routes) =>
    routeGroups(targets, table, q).map((g) => [g.domain, g.routerName, g.route?.spec, g.targets.map((t) => t.pos)]);

  it.each([
    [
      "a normal record takes its domains' routes",
      { route: quarantine, quarantined: false },
      [
        ["a.test", "route:a.test", "smtp:127.0.0.1:2525", [0, 2]],
        ["b.test", "route:*", "mx", [1]],
        ["nowhere.test", "route:*", "mx", [3]],
      ],
    ],
    [
      "a quarantined record without quarantine_route is delivered as usual",
      { route: undefined, quarantined: true },
      [
        ["a.test", "route:a.test", "smtp:127.0.0.1:2525", [0, 2]],
        ["b.test", "route:*", "mx", [1]],
        ["nowhere.test", "route:*", "mx", [3]],
      ],
    ],
    [
      "a quarantined record goes, every recipient, to the quarantine route",
      { route: quarantine, quarantined: true },
      [
        ["a.test", "quarantine", quarantine.spec, [0, 2]],
        ["b.test", "quarantine", quarantine.spec, [1]],
        ["nowhere.test", "quarantine", quarantine.spec, [3]],
      ],
    ],
  ])("%s", (_name, q, expected) => {
    expect(summary(q)).toEqual(expected);
  });

  it("routes a quarantined record even for domains that have no route", () => {
    expect(summary({ route: quarantine, quarantined: true }, new Map()).every(([, router, spec]) => router === QUARANTINE_ROUTER && spec === quarantine.spec)).toBe(true);
    expect(summary({ route: quarantine, quarantined: false }, new Map()).every(([, router, spec]) => router === "" && spec === undefined)).toBe(true);
  });

  it("quarantine_route is optional and checked like a route", () => {
    expect(configSchema.parse({}).dane_outbound.quarantine_route).toBeUndefined();
    expect(configSchema.parse({ dane_outbound: { quarantine_route: "smtp:[::1]:2525" } }).dane_outbound.quarantine_route).toBe("smtp:[::1]:2525");
    expect(configSchema.safeParse({ dane_outbound: { quarantine_route: "maildir:" } }).success).toBe(false);
    expect(configSchema.safeParse({ dane_outbound: { quarantine_route: "ftp:x" } }).success).toBe(false);
  });
});

describe("dane-outbound files quarantined mail apart", () => {
  let h: Harness;
  let outcomes: OutcomesSink;
  let dir: string;

  beforeAll(async () => {
    h = await startHarness();
    outcomes = new OutcomesSink(await freePort());
    await outcomes.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "postern-quarantine-"));
    await h.start({
      routes: { "*": `maildir:${dir}/mail` },
      quarantine_route: `maildir:${dir}/quarantine`,
      delivery_events: { address: outcomes.address },
    });
  });

  afterAll(async () => {
    await h?.close();
    await outcomes?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const files = async (sub: string): Promise<string[]> => fs.readdir(path.join(dir, sub)).catch(() => []);

  it("delivers a quarantined record to the quarantine maildir and a normal one to its route", async () => {
    await h.publish({ messageId: "m-quarantined", quarantine: true, recipients: rcpts("bob@a.test", "carol@b.test"), body: inlineBody("Subject: q\r\n\r\nspoofed?\r\n") });
    await h.publish({ messageId: "m-normal", recipients: rcpts("dave@a.test"), body: inlineBody("Subject: n\r\n\r\nfine\r\n") });
    const quarantined = await outcomes.waitFor("m-quarantined", hasComplete);
    await outcomes.waitFor("m-normal", hasComplete);

    expect(quarantined.filter((e) => e.name === "msg:delivery").map((e) => [e.deliveryLocalPart, e.routerName, e.transportName])).toEqual([
      ["bob", "quarantine", "maildir"],
      ["carol", "quarantine", "maildir"],
    ]);
    expect(outcomes.of("m-normal", "msg:delivery").map((e) => e.routerName)).toEqual(["route:*"]);

    expect((await files("quarantine")).sort()).toEqual(["bob", "carol"]);
    expect(await files("mail")).toEqual(["dave"]);
    expect(await files("quarantine/bob/new")).toHaveLength(1);
    expect(await files("mail/dave/new")).toHaveLength(1);

    const lines = h.logs.filter((l) => l.event === "delivery").map((l) => l.msg);
    expect(lines).toContainEqual(expect.stringMatching(/^m-quarantined => bob@a\.test R=quarantine T=maildir C=/));
    expect(lines).toContainEqual(expect.stringMatching(/^m-normal => dave@a\.test R=route:\* T=maildir C=/));
  });
});
