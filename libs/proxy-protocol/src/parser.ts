/**
 * The incremental parser. Bytes arrive in chunks of any size; each push()
 * answers need-more, done (header, bytes consumed, the rest of the chunk) or
 * error. The version is chosen on the first byte and every signature byte is
 * checked as it arrives, so a peer that does not speak PROXY fails at once.
 * At most the declared v2 length (itself capped by maxHeaderBytes), or
 * min(107, maxHeaderBytes) for v1, is ever buffered.
 */
import {
  ProxyBadSignatureError,
  ProxyOptionsError,
  ProxyStateError,
  ProxyTooLongError,
  ProxyTruncatedError,
  ProxyBadAddressError,
  ProxyV1SyntaxError,
  type ProxyProtocolError,
} from "./errors";
import {
  V1_MAX_LENGTH,
  V1_PREFIX,
  V2_FIXED_LENGTH,
  V2_MAX_LENGTH,
  V2_SIGNATURE,
  type OneShotResult,
  type ParseResult,
  type ProxyCommand,
  type ProxyHeader,
  type ProxyParserOptions,
} from "./types";
import { parseV1Line } from "./v1";
import { checkVersionCommand, classifyFamily, decodeV2, type V2Family } from "./v2";

const CR = 0x0d;
const LF = 0x0a;
const NEED_MORE: ParseResult = Object.freeze({ status: "need-more" });

export class ProxyHeaderParser {
  readonly maxHeaderBytes: number;
  readonly allowV1: boolean;
  readonly allowV2: boolean;
  private version: 0 | 1 | 2 = 0;
  private buf: Buffer = Buffer.alloc(0);
  private have = 0;
  private total = 0;
  private sawCr = false;
  private command: ProxyCommand = "PROXY";
  private family: V2Family | undefined;
  private finished = false;

  constructor(options: ProxyParserOptions = {}) {
    const { maxHeaderBytes = 4096, allowV1 = true, allowV2 = true } = options;
    if (!Number.isInteger(maxHeaderBytes) || maxHeaderBytes < V2_FIXED_LENGTH || maxHeaderBytes > V2_MAX_LENGTH) {
      throw new ProxyOptionsError("maxHeaderBytes", `must be an integer in ${V2_FIXED_LENGTH}..${V2_MAX_LENGTH}`);
    }
    if (!allowV1 && !allowV2) throw new ProxyOptionsError("allowV1", "at least one of allowV1 and allowV2 must be true");
    this.maxHeaderBytes = maxHeaderBytes;
    this.allowV1 = allowV1;
    this.allowV2 = allowV2;
  }

  /** Number of header bytes held so far (never more than maxHeaderBytes). */
  get bufferedBytes(): number {
    return this.have;
  }

  /** A copy of the header bytes held so far, for logging (escape before printing). */
  buffered(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.have));
  }

  /** Feeds the next chunk. After "done" or "error" the parser is spent: push() throws. */
  push(chunk: Buffer): ParseResult {
    if (this.finished) throw new ProxyStateError("push() after the PROXY header was parsed or rejected");
    if (chunk.length === 0) return NEED_MORE;
    if (this.version === 0) {
      const first = chunk[0];
      if (first === V1_PREFIX[0]) {
        if (!this.allowV1) return this.fail(new ProxyBadSignatureError("PROXY v1 not allowed", 0));
        this.version = 1;
        this.buf = Buffer.alloc(Math.min(V1_MAX_LENGTH, this.maxHeaderBytes));
      } else if (first === V2_SIGNATURE[0]) {
        if (!this.allowV2) return this.fail(new ProxyBadSignatureError("PROXY v2 not allowed", 0));
        this.version = 2;
        this.buf = Buffer.alloc(V2_FIXED_LENGTH);
      } else {
        return this.fail(new ProxyBadSignatureError("not a PROXY protocol header", 0));
      }
    }
    return this.version === 1 ? this.pushV1(chunk) : this.pushV2(chunk);
  }

  private fail(error: ProxyProtocolError): ParseResult {
    this.finished = true;
    return { status: "error", error };
  }

  private done(header: ProxyHeader | ProxyProtocolError, chunk: Buffer, used: number): ParseResult {
    if (header instanceof Error) return this.fail(header);
    this.finished = true;
    return { status: "done", header, rest: chunk.subarray(used), headerBytes: this.have };
  }

  private pushV1(chunk: Buffer): ParseResult {
    const limit = this.buf.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const pos = this.have;
      if (pos < V1_PREFIX.length && b !== V1_PREFIX[pos]) {
        return this.fail(new ProxyBadSignatureError("not a PROXY protocol header", pos));
      }
      if (this.sawCr) {
        if (b !== LF) return this.fail(new ProxyV1SyntaxError("CR not followed by LF", pos));
        this.buf[pos] = b;
        this.have++;
        return this.done(parseV1Line(this.buf, this.have), chunk, i + 1);
      }
      if (b === LF) return this.fail(new ProxyV1SyntaxError("LF without CR", pos));
      this.sawCr = b === CR;
      this.buf[pos] = b;
      this.have++;
      // The CRLF must end by byte `limit`: a non-CR at limit-2 leaves no room for it.
      if (!this.sawCr && this.have >= limit - 1) {
        return this.fail(new ProxyTooLongError(`v1 header longer than ${limit} bytes`, limit, undefined, pos));
      }
    }
    return NEED_MORE;
  }

  private pushV2(chunk: Buffer): ParseResult {
    let i = 0;
    while (this.have < V2_FIXED_LENGTH && i < chunk.length) {
      const pos = this.have;
      const b = chunk[i++]!;
      this.buf[pos] = b;
      this.have++;
      const err = this.checkFixedByte(pos, b);
      if (err) return this.fail(err);
    }
    if (this.have < V2_FIXED_LENGTH) return NEED_MORE;
    const n = Math.min(chunk.length - i, this.total - this.have);
    chunk.copy(this.buf, this.have, i, i + n);
    this.have += n;
    i += n;
    if (this.have < this.total) return NEED_MORE;
    return this.done(decodeV2(this.buf, this.total), chunk, i);
  }

  /** Checks byte `pos` (< 16) of a v2 header as soon as it arrives. */
  private checkFixedByte(pos: number, b: number): ProxyProtocolError | undefined {
    if (pos < V2_SIGNATURE.length) {
      return b === V2_SIGNATURE[pos] ? undefined : new ProxyBadSignatureError("bad v2 signature", pos);
    }
    if (pos === 12) {
      const command = checkVersionCommand(b);
      if (command instanceof Error) return command;
      this.command = command;
    } else if (pos === 13) {
      const family = classifyFamily(this.command, b);
      if (family instanceof Error) return family;
      this.family = family;
    } else if (pos === 15) {
      const length = this.buf.readUInt16BE(14);
      this.total = V2_FIXED_LENGTH + length;
      if (this.total > this.maxHeaderBytes) {
        const reason = `v2 header of ${this.total} bytes exceeds the ${this.maxHeaderBytes}-byte limit`;
        return new ProxyTooLongError(reason, this.maxHeaderBytes, this.total, 14);
      }
      if (length < this.family!.addressLength) {
        return new ProxyBadAddressError("address block shorter than its family requires", 14);
      }
      const full = Buffer.alloc(this.total);
      this.buf.copy(full, 0, 0, V2_FIXED_LENGTH);
      this.buf = full;
    }
    return undefined;
  }
}

/**
 * Parses a header at the start of buf in one go (tests, tools). Input that
 * ends inside the header is a ProxyTruncatedError here.
 */
export function parseProxyHeader(buf: Buffer, options?: ProxyParserOptions): OneShotResult {
  const parser = new ProxyHeaderParser(options);
  const r = parser.push(buf);
  return r.status === "need-more" ? { status: "error", error: new ProxyTruncatedError(buf.length) } : r;
}
