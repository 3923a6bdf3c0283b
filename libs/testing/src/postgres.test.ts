import { existsSync } from "node:fs";
import { connect } from "node:net";
import { startPostgres } from "./postgres";
import { findPostgresBinDir } from "./postgres-local";

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", () => resolve(true));
  });
}

const dockerAbsent = !process.env.DOCKER_HOST && !existsSync("/var/run/docker.sock");

describe("startPostgres", () => {
  it("starts a server that runs SQL and returns rows, and stops it", async () => {
    const pg = await startPostgres();
    try {
      expect(pg.url).toBe(`postgres://postgres@${pg.host}:${pg.port}/postgres`);
      if (dockerAbsent && !process.env.POSTERN_TEST_BACKEND) {
        expect(pg.via).toBe("local-binary");
        expect(pg.version).toMatch(/^postgres \d+(\.\d+)+$/);
      }
      await pg.psql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, NULL)");
      expect(await pg.queryJson("SELECT id, v FROM t ORDER BY id")).toEqual([
        { id: 1, v: "a" },
        { id: 2, v: null },
      ]);
      expect(await pg.queryJson("SELECT id FROM t WHERE false")).toEqual([]);
      await expect(pg.psql("SELECT * FROM missing")).rejects.toThrow(/missing/);
    } finally {
      await pg.stop();
      await pg.stop();
    }
    if (pg.via === "local-binary") expect(await refused(pg.port)).toBe(true);
  }, 60_000);

  it("finds the Debian binaries or names what to install", () => {
    expect(findPostgresBinDir({ POSTERN_POSTGRES_BIN_DIR: "/nonexistent" })).toBeUndefined();
    const found = findPostgresBinDir({ PATH: "" });
    if (found !== undefined) expect(found).toMatch(/bin$/);
  });
});
