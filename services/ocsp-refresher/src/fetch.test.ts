import http from "node:http";
import { type AddressInfo } from "node:net";
import { FetchError, FetchErrorCode } from "./errors";
import { fetchOcsp } from "./fetch";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

async function withServer(handler: Handler, fn: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
}

const opts = { timeoutMs: 500, maxBytes: 1024 };
const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "resolved",
    (err: unknown) => (err instanceof FetchError ? err.code : String(err)),
  );

describe("fetchOcsp", () => {
  test("POSTs application/ocsp-request and returns the body", async () => {
    let seen: { method?: string; type?: string; body?: string } = {};
    await withServer(
      (req, res, body) => {
        seen = { method: req.method, type: req.headers["content-type"], body: body.toString() };
        res.end(Buffer.from("answer"));
      },
      async (url) => {
        expect((await fetchOcsp(url, Buffer.from("question"), opts)).toString()).toBe("answer");
      },
    );
    expect(seen).toEqual({ method: "POST", type: "application/ocsp-request", body: "question" });
  });

  const failures: Array<[string, Handler, FetchErrorCode]> = [
    ["HTTP 500", (_q, res) => res.writeHead(500).end(), FetchErrorCode.HttpStatus],
    ["a redirect is not followed", (_q, res) => res.writeHead(302, { location: "http://127.0.0.1:1/" }).end(), FetchErrorCode.HttpStatus],
    ["Content-Length over the cap", (_q, res) => res.writeHead(200, { "content-length": 4096 }).end(Buffer.alloc(4096)), FetchErrorCode.TooLarge],
    ["a chunked body over the cap", (_q, res) => { res.write(Buffer.alloc(800)); res.write(Buffer.alloc(800)); res.end(); }, FetchErrorCode.TooLarge],
    ["no answer in time", () => undefined, FetchErrorCode.Timeout],
    ["a body that never ends", (_q, res) => res.writeHead(200, { "content-length": 100 }).write("x"), FetchErrorCode.Timeout],
    ["connection closed mid-body", (_q, res) => { res.writeHead(200, { "content-length": 100 }).write("x"); setTimeout(() => res.socket?.destroy(), 20); }, FetchErrorCode.Network],
  ];
  test.each(failures)("%s", async (_name, handler, code) => {
    await withServer(handler, async (url) => {
      expect(await codeOf(fetchOcsp(url, Buffer.from("q"), opts))).toBe(code);
    });
  });

  test("connection refused and bad URLs", async () => {
    expect(await codeOf(fetchOcsp("http://127.0.0.1:1/", Buffer.from("q"), opts))).toBe(FetchErrorCode.Network);
    expect(await codeOf(fetchOcsp("ldap://x/", Buffer.from("q"), opts))).toBe(FetchErrorCode.Network);
    expect(await codeOf(fetchOcsp("not a url", Buffer.from("q"), opts))).toBe(FetchErrorCode.Network);
  });
});
