import { ProxyOptionsError, ProxyStateError, ProxyTruncatedError } from "./errors";
import { ProxyHeaderParser, parseProxyHeader } from "./parser";
import { bytewise, INET_BLOCK, rawV2 } from "./test/support";

describe("ProxyHeaderParser", () => {
  test.each([
    ["EHLO", "E"],
    ["TLS ClientHello", "\x16"],
    ["NUL", "\x00"],
    ["LF", "\n"],
  ])("a first byte that starts no signature fails at once (%s)", (_name, first) => {
    const p = new ProxyHeaderParser();
    const r = p.push(Buffer.from(first, "latin1"));
    expect(r.status === "error" && [r.error.code, r.error.offset]).toEqual(["POSTERN_PROXY_BAD_SIGNATURE", 0]);
  });

  test("each signature byte is checked as it arrives", () => {
    const p = new ProxyHeaderParser();
    for (const c of "PROX") expect(p.push(Buffer.from(c)).status).toBe("need-more");
    const r = p.push(Buffer.from("I"));
    expect(r.status === "error" && r.error.offset).toBe(4);
  });

  test("an oversized v2 length fails once byte 16 is in, before the body", () => {
    const p = new ProxyHeaderParser({ maxHeaderBytes: 100 });
    const head = rawV2({ body: INET_BLOCK, len: 85 }).subarray(0, 16);
    const results = bytewise(head).map((b) => p.push(b));
    expect(results.slice(0, 15).every((r) => r.status === "need-more")).toBe(true);
    const last = results[15]!;
    expect(last.status === "error" && last.error.code).toBe("POSTERN_PROXY_TOO_LONG");
    expect(p.bufferedBytes).toBe(16);
  });

  test("buffers exactly the declared header, no more", () => {
    const p = new ProxyHeaderParser();
    const h = rawV2({ body: INET_BLOCK });
    expect(p.push(h.subarray(0, 20)).status).toBe("need-more");
    expect(p.bufferedBytes).toBe(20);
    expect(p.buffered()).toEqual(h.subarray(0, 20));
    const r = p.push(Buffer.concat([h.subarray(20), Buffer.alloc(10_000, 0x41)]));
    expect(r.status === "done" && [r.headerBytes, r.rest.length]).toEqual([28, 10_000]);
    expect(p.bufferedBytes).toBe(28);
  });

  test("rest is a view of the last chunk, not a copy", () => {
    const chunk = Buffer.concat([Buffer.from("PROXY UNKNOWN\r\n"), Buffer.from("EHLO")]);
    const r = new ProxyHeaderParser().push(chunk);
    expect(r.status === "done" && r.rest.buffer === chunk.buffer).toBe(true);
  });

  test("empty chunks are need-more", () => {
    const p = new ProxyHeaderParser();
    expect(p.push(Buffer.alloc(0)).status).toBe("need-more");
    expect(p.push(Buffer.from("PROXY UNKNOWN\r\n")).status).toBe("done");
  });

  test("push after done or error throws ProxyStateError", () => {
    const done = new ProxyHeaderParser();
    done.push(Buffer.from("PROXY UNKNOWN\r\n"));
    expect(() => done.push(Buffer.from("x"))).toThrow(ProxyStateError);
    const failed = new ProxyHeaderParser();
    failed.push(Buffer.from("x"));
    let thrown: unknown;
    try {
      failed.push(Buffer.from("x"));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: "POSTERN_PROXY_STATE", name: "ProxyStateError" });
  });

  test.each([[15], [65552], [1.5], [NaN]])("maxHeaderBytes %p is refused", (n) => {
    expect(() => new ProxyHeaderParser({ maxHeaderBytes: n })).toThrow(ProxyOptionsError);
  });

  test("at least one version must be allowed", () => {
    expect(() => new ProxyHeaderParser({ allowV1: false, allowV2: false })).toThrow(ProxyOptionsError);
  });

  test("the largest v2 header is accepted when allowed", () => {
    const h = rawV2({ fam: 0x00, body: Buffer.concat([Buffer.from([0x04, 0xff, 0xfc]), Buffer.alloc(0xfffc)]) });
    const r = parseProxyHeader(h, { maxHeaderBytes: 65551 });
    expect(r.status === "done" && [r.headerBytes, r.header.tlvs.noop]).toEqual([65551, 1]);
  });
});

describe("parseProxyHeader", () => {
  test("input ending inside the header is TRUNCATED with the byte count", () => {
    const r = parseProxyHeader(Buffer.from("PROXY TCP4 "));
    expect(r.status).toBe("error");
    if (r.status !== "error") return;
    expect(r.error).toBeInstanceOf(ProxyTruncatedError);
    expect(r.error).toMatchObject({ code: "POSTERN_PROXY_TRUNCATED", name: "ProxyTruncatedError", received: 11 });
  });

  test("empty input is TRUNCATED", () => {
    const r = parseProxyHeader(Buffer.alloc(0));
    expect(r.status === "error" && r.error.code).toBe("POSTERN_PROXY_TRUNCATED");
  });

  test("error messages carry the reason and offset", () => {
    const r = parseProxyHeader(Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n"));
    expect(r.status === "error" && r.error.message).toBe("PROXY header rejected: bad client port (at byte 27)");
  });
});
