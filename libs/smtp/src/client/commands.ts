import { SmtpAddressError, SmtpArgumentError } from "./errors";

export const BodyType = { SevenBit: "7BIT", EightBitMime: "8BITMIME", BinaryMime: "BINARYMIME" } as const;
export type BodyType = (typeof BodyType)[keyof typeof BodyType];

export interface MailFromParams {
  /** RFC 1870 SIZE=, the message size in bytes. */
  size?: number;
  /** RFC 6152 / RFC 3030 BODY=. */
  body?: BodyType;
  /** RFC 6531: the transaction carries UTF-8 addresses or headers. */
  smtpUtf8?: boolean;
  /** RFC 3461 RET=. */
  ret?: "FULL" | "HDRS";
  /** RFC 3461 ENVID= (encoded as xtext here). */
  envid?: string;
}

export interface RcptToParams {
  /** RFC 3461 NOTIFY= values: NEVER alone, or any of SUCCESS, FAILURE, DELAY. */
  notify?: readonly string[];
  /** RFC 3461 ORCPT=: address type (usually "rfc822") and the original address, xtext-encoded here. */
  orcpt?: { type: string; address: string };
  /** The transaction was opened with SMTPUTF8, so UTF-8 addresses are allowed. */
  smtpUtf8?: boolean;
}

const NOTIFY_VALUES = new Set(["NEVER", "SUCCESS", "FAILURE", "DELAY"]);
const HAS_NON_ASCII = /[^\x00-\x7f]/;
// Control characters (C0, DEL, C1) and the angle brackets that delimit the path.
const FORBIDDEN_IN_PATH = /[\x00-\x1f\x7f-\x9f<>]/;
const DOMAIN_OR_LITERAL = /^(?:\[[A-Za-z0-9:.-]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|[^\x00-\x20\x7f-\x9f<>@[\]]+)$/;

/** RFC 3461 section 4 xtext: "+" "=" and bytes outside "!".."~" as +XX (UTF-8 bytes for non-ASCII). */
export function encodeXtext(value: string): string {
  let out = "";
  for (const b of Buffer.from(value, "utf8")) {
    out += b >= 0x21 && b <= 0x7e && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function checkPath(address: string, smtpUtf8: boolean, allowEmpty: boolean): void {
  if (address.length === 0) {
    if (allowEmpty) return;
    throw new SmtpAddressError(address, "empty address");
  }
  if (FORBIDDEN_IN_PATH.test(address)) throw new SmtpAddressError(address, "control character or angle bracket");
  if (!smtpUtf8 && HAS_NON_ASCII.test(address)) throw new SmtpAddressError(address, "non-ASCII address needs SMTPUTF8");
  if (Buffer.byteLength(address, "utf8") > 256) throw new SmtpAddressError(address, "longer than 256 octets (RFC 5321 4.5.3.1.3)");
}

function checkToken(value: string, what: string): string {
  if (value.length === 0 || /[\x00-\x20\x7f]/.test(value)) throw new SmtpArgumentError(value, `${what} must be one non-empty token`);
  return value;
}

/** `MAIL FROM:<sender> [SIZE=n] [BODY=x] [SMTPUTF8] [RET=x] [ENVID=x]` CRLF. An empty sender is the null reverse-path `<>`. */
export function formatMailFrom(sender: string, params: MailFromParams = {}): string {
  checkPath(sender, params.smtpUtf8 === true, true);
  const parts = [`MAIL FROM:<${sender}>`];
  if (params.size !== undefined) {
    if (!Number.isSafeInteger(params.size) || params.size < 0) throw new SmtpArgumentError(String(params.size), "SIZE must be a non-negative integer");
    parts.push(`SIZE=${params.size}`);
  }
  if (params.body !== undefined) parts.push(`BODY=${params.body}`);
  if (params.smtpUtf8 === true) parts.push("SMTPUTF8");
  if (params.ret !== undefined) parts.push(`RET=${params.ret}`);
  if (params.envid !== undefined && params.envid.length > 0) parts.push(`ENVID=${encodeXtext(params.envid)}`);
  return `${parts.join(" ")}\r\n`;
}

/** `RCPT TO:<recipient> [NOTIFY=..] [ORCPT=type;xtext]` CRLF. */
export function formatRcptTo(recipient: string, params: RcptToParams = {}): string {
  checkPath(recipient, params.smtpUtf8 === true, false);
  const parts = [`RCPT TO:<${recipient}>`];
  if (params.notify !== undefined && params.notify.length > 0) {
    const values = params.notify.map((v) => v.toUpperCase());
    const bad = values.find((v) => !NOTIFY_VALUES.has(v));
    if (bad !== undefined) throw new SmtpArgumentError(bad, "unknown NOTIFY value");
    if (values.includes("NEVER") && values.length > 1) throw new SmtpArgumentError(values.join(","), "NEVER excludes other NOTIFY values");
    parts.push(`NOTIFY=${[...new Set(values)].join(",")}`);
  }
  if (params.orcpt !== undefined) {
    const type = checkToken(params.orcpt.type, "ORCPT address type");
    if (!/^[A-Za-z0-9-]+$/.test(type)) throw new SmtpArgumentError(type, "ORCPT address type must be an atom");
    parts.push(`ORCPT=${type};${encodeXtext(params.orcpt.address)}`);
  }
  return `${parts.join(" ")}\r\n`;
}

/** `EHLO name`, `HELO name` or `LHLO name` CRLF; the name is a domain or an address literal. */
export function formatHello(verb: "EHLO" | "HELO" | "LHLO", name: string): string {
  if (!DOMAIN_OR_LITERAL.test(name)) throw new SmtpArgumentError(name, "not a domain or address literal");
  return `${verb} ${name}\r\n`;
}

/** Commands without arguments. */
export function formatCommand(verb: "DATA" | "QUIT" | "RSET" | "NOOP" | "STARTTLS"): string {
  return `${verb}\r\n`;
}

/** `BDAT size [LAST]` CRLF (RFC 3030). */
export function formatBdat(size: number, last: boolean): string {
  if (!Number.isSafeInteger(size) || size < 0) throw new SmtpArgumentError(String(size), "BDAT size must be a non-negative integer");
  return last ? `BDAT ${size} LAST\r\n` : `BDAT ${size}\r\n`;
}

/** Splits an address at its last "@" (local parts may be quoted and contain "@"). No "@": all local part. */
export function splitAddress(address: string): { localPart: string; domain: string } {
  const at = address.lastIndexOf("@");
  return at < 0 ? { localPart: address, domain: "" } : { localPart: address.slice(0, at), domain: address.slice(at + 1) };
}
