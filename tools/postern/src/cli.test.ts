import { type Backend, type PostgresBackend, startNats, startPostgres } from "@postern/testing";
import { runCli } from "./cli";

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { code, out, err };
}

describe("postern CLI", () => {
  it.each([
    [["events", "tail", "--filter", "colour=blue"], /--filter "colour=blue": expected/],
    [["events", "tail", "--since", "yesterday"], /--since "yesterday": expected/],
    [["events", "tail", "--count", "x"], /--count must be a non-negative integer/],
    [["webhooks", "dlq", "replay"], /needs --endpoint NAME, --seq N or --all/],
    [["webhooks", "dlq", "replay", "--seq", "x"], /--seq\[0\] must be a non-negative integer/],
    [["webhooks", "dlq", "purge"], /^usage:/],
    [["events", "migrate"], /needs --postgres URL/],
  ])("refuses %j with exit code 2", async (args, want) => {
    const { code, err } = await cli(args);
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(want);
  });

  describe("against real servers", () => {
    let nats: Backend;
    let pg: PostgresBackend;

    beforeAll(async () => {
      [nats, pg] = await Promise.all([startNats(), startPostgres()]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([nats?.stop(), pg?.stop()]);
    });

    it("creates the Postgres table with `events migrate`, once", async () => {
      expect(await cli(["events", "migrate", "--postgres", pg.url])).toEqual({ code: 0, out: ["applied migration(s) 1: postern_delivery_events is up to date"], err: [] });
      expect(await cli(["events", "migrate", "--postgres", pg.url])).toEqual({ code: 0, out: ["postern_delivery_events is up to date"], err: [] });
      const columns = await pg.queryJson<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'postern_delivery_events' ORDER BY ordinal_position");
      expect(columns.map((c) => c.column_name)).toContain("delivery_confirmation");
    });

    it("lists an empty dead-letter stream before delivery-events created it", async () => {
      expect(await cli(["webhooks", "dlq", "list", "--nats", nats.url])).toEqual({ code: 0, out: ["0 dead letter(s)"], err: [] });
    });
  });
});
