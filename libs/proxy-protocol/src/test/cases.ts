/**
 * Table-driven runner shared by the v1 and v2 tables. Every case is checked
 * one-shot, fed whole, one byte at a time and cut at every byte position, and
 * through the derived variants of Postfix's haproxy_srvr_test.c: a byte
 * appended (consumed length unchanged, the byte handed back), the terminator
 * dropped (need-more, or TRUNCATED one-shot), and v1 converted to v2.
 */
import { encodeProxyHeaderV2 } from "../encode";
import { ProxyProtocolError, ProxyTruncatedError, type ProxyErrorCode } from "../errors";
import { parseProxyHeader } from "../parser";
import type { ProxyEndpoint, ProxyFamily, ProxyHeader, ProxyParserOptions, ProxyTlvs } from "../types";
import { everySplit, feed, outcome, whole } from "./support";

export interface Case {
  name: string;
  input: Buffer | string;
  options?: ProxyParserOptions;
  wantVersion?: 1 | 2;
  wantCommand?: "PROXY" | "LOCAL";
  wantFamily?: ProxyFamily;
  wantTransport?: "STREAM";
  wantSource?: ProxyEndpoint;
  wantDestination?: ProxyEndpoint;
  wantUnixSource?: string;
  wantUnixDestination?: string;
  wantUseSocket?: boolean;
  wantTlvs?: Partial<ProxyTlvs>;
  /** Header length; defaults to the input length. */
  wantBytes?: number;
  wantCode?: ProxyErrorCode;
  wantReason?: string;
  wantOffset?: number;
  wantClass?: new (...args: never[]) => ProxyProtocolError;
  /** The input ends inside a header. */
  wantNeedMore?: true;
}

const bytes = (c: Case): Buffer => (typeof c.input === "string" ? Buffer.from(c.input, "latin1") : c.input);

export function expectedHeader(c: Case): ProxyHeader {
  return {
    version: c.wantVersion ?? 1,
    command: c.wantCommand ?? "PROXY",
    family: c.wantFamily!,
    transport: c.wantTransport,
    source: c.wantSource,
    destination: c.wantDestination,
    unixSource: c.wantUnixSource,
    unixDestination: c.wantUnixDestination,
    useSocketAddresses: c.wantUseSocket ?? false,
    tlvs: { noop: 0, unknown: [], ...c.wantTlvs },
  };
}

function checkOneShot(c: Case, input: Buffer): void {
  const r = parseProxyHeader(input, c.options);
  if (c.wantNeedMore) {
    expect(r.status).toBe("error");
    if (r.status === "error") expect(r.error).toBeInstanceOf(ProxyTruncatedError);
  } else if (c.wantCode) {
    expect(r.status).toBe("error");
    if (r.status !== "error") return;
    expect(r.error).toBeInstanceOf(ProxyProtocolError);
    expect(r.error.code).toBe(c.wantCode);
    expect(r.error.name).toBe(r.error.constructor.name);
    if (c.wantClass) expect(r.error).toBeInstanceOf(c.wantClass);
    if (c.wantReason !== undefined) expect(r.error.reason).toBe(c.wantReason);
    if (c.wantOffset !== undefined) expect(r.error.offset).toBe(c.wantOffset);
  } else {
    expect(r.status === "error" ? r.error : r.status).toBe("done");
    if (r.status !== "done") return;
    expect(r.header).toEqual(expectedHeader(c));
    expect(r.headerBytes).toBe(c.wantBytes ?? input.length);
  }
}

function checkSplits(c: Case, input: Buffer): void {
  const max = c.options?.maxHeaderBytes ?? 4096;
  const base = feed(whole(input), c.options);
  expect(base.result.status).toBe(c.wantNeedMore ? "need-more" : c.wantCode ? "error" : "done");
  for (const [how, split] of everySplit(input.length)) {
    const f = feed(split(input), c.options);
    expect({ how, ...(outcome(f) as object) }).toEqual({ how, ...(outcome(base) as object) });
    expect(f.maxBuffered).toBeLessThanOrEqual(max);
  }
}

function checkDerived(c: Case, input: Buffer): void {
  if (c.wantNeedMore) return;
  // Append a byte: the same outcome, the same length consumed, the byte handed back.
  const appended = feed(whole(Buffer.concat([input, Buffer.from("X")])), c.options);
  const base = feed(whole(input), c.options);
  if (base.result.status === "done") {
    expect(appended.result.status).toBe("done");
    if (appended.result.status !== "done") return;
    expect(appended.result.headerBytes).toBe(base.result.headerBytes);
    expect(appended.rest.toString("latin1")).toBe(base.rest.toString("latin1") + "X");
    expect(appended.result.header).toEqual(base.result.header);
  } else {
    expect(outcome(appended)).toEqual(outcome(base));
  }
  if (c.wantCode || (c.wantBytes !== undefined && c.wantBytes !== input.length)) return;
  // Drop the terminator (the last byte; for v1 also the whole CRLF): need more bytes.
  const cuts = input[input.length - 1] === 0x0a && input[input.length - 2] === 0x0d ? [1, 2] : [1];
  for (const n of cuts) {
    const short = input.subarray(0, input.length - n);
    expect(feed(whole(short), c.options).result.status).toBe("need-more");
    const one = parseProxyHeader(short, c.options);
    expect(one.status === "error" && one.error.code).toBe("POSTERN_PROXY_TRUNCATED");
  }
  // v1 converted to v2: the same facts, UNKNOWN becoming AF_UNSPEC.
  if (c.wantVersion === undefined || c.wantVersion === 1) {
    const want = expectedHeader(c);
    const v2 = encodeProxyHeaderV2(want);
    const r = parseProxyHeader(v2);
    expect(r.status).toBe("done");
    if (r.status !== "done") return;
    const family = want.family === "UNKNOWN" ? "UNSPEC" : want.family;
    expect(r.header).toEqual({ ...want, version: 2, family });
    expect(r.headerBytes).toBe(v2.length);
  }
}

/** One jest test per case. */
export function runCases(cases: Case[]): void {
  test.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const input = bytes(c);
    checkOneShot(c, input);
    checkSplits(c, input);
    checkDerived(c, input);
  });
}
