/**
 * ESMTP parameters of MAIL and RCPT: SIZE (RFC 1870), BODY (RFC 6152, and
 * BINARYMIME from RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID/NOTIFY/ORCPT
 * (RFC 3461), AUTH (RFC 4954 section 5), PRDR (draft-hall-prdr-00) and xtext.
 * Parameters whose extension was not advertised are unknown (555 5.5.4).
 *
 * SECURITY: values are client input; they are validated against the RFC
 * grammar and length caps before anything is stored or echoed.
 */
import { type Reply } from "./reply";
import { replies } from "./replies";

export type MailBodyType = "7BIT" | "8BITMIME" | "BINARYMIME";
export type DsnRet = "FULL" | "HDRS";
export type NotifyValue = "NEVER" | "SUCCESS" | "FAILURE" | "DELAY";

export interface MailParams {
  readonly size?: number;
  readonly body?: MailBodyType;
  readonly smtputf8: boolean;
  readonly ret?: DsnRet;
  /** decoded xtext */
  readonly envid?: string;
  /** PRDR requested (only when PRDR was advertised) */
  readonly prdr?: boolean;
  /**
   * AUTH=: the decoded mailbox, or "<>". Always "<>" when the session is not
   * authenticated (RFC 4954 section 5: behave as if AUTH=<> was given).
   */
  readonly auth?: string;
}

export interface RcptParams {
  readonly notify?: readonly NotifyValue[];
  /** "addr-type;address" with the xtext decoded, e.g. "rfc822;user@example.org" */
  readonly orcpt?: string;
}

/** Which extensions the session advertised (HELO sessions advertise none). */
export interface ParamContext {
  readonly esmtp: boolean;
  readonly size: boolean;
  readonly eightBitMime: boolean;
  readonly smtputf8: boolean;
  readonly dsn: boolean;
  /** BODY=BINARYMIME allowed */
  readonly binaryMime?: boolean;
  /** PRDR advertised */
  readonly prdr?: boolean;
  /** AUTH advertised: the AUTH= parameter is known */
  readonly auth?: boolean;
  /** the client has authenticated (AUTH= is kept, not replaced by <>) */
  readonly authenticated?: boolean;
}

export type ParamResult<T> = { readonly ok: true; readonly params: T } | { readonly ok: false; readonly reply: Reply };

interface RawParam {
  keyword: string;
  value: string | undefined;
}

const keywordRe = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value = 1*(%d33-60 / %d62-126), RFC 6531 adds UTF8-non-ascii
const valueRe = /^[\x21-\x3c\x3e-\x7e\u0080-\u{10ffff}]+$/u;

const bad = (text: string): { ok: false; reply: Reply } => ({ ok: false, reply: replies.badParameter(text) });
const unknown = (name: string): { ok: false; reply: Reply } => ({ ok: false, reply: replies.unknownParameter(name) });

/** Splits " KEY=VALUE KEY" (the text after ">") into keyword/value pairs. */
function splitParams(rest: string): RawParam[] | Reply {
  if (rest.length === 0) return [];
  if (rest[0] !== " ") return replies.badParameter("Bad parameter syntax");
  const out: RawParam[] = [];
  const seen = new Set<string>();
  for (const token of rest.split(" ")) {
    if (token.length === 0) continue;
    const eq = token.indexOf("=");
    const keyword = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? undefined : token.slice(eq + 1);
    if (!keywordRe.test(keyword) || (value !== undefined && !valueRe.test(value))) {
      return replies.badParameter("Bad parameter syntax");
    }
    if (seen.has(keyword)) return replies.badParameter(`Duplicate parameter: ${keyword}`);
    seen.add(keyword);
    out.push({ keyword, value });
  }
  return out;
}

/** xtext (RFC 3461 section 4): "+" HEX HEX escapes; null when malformed. */
export function decodeXtext(s: string): string | null {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return null;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x21 || c > 0x7e || c === 0x3d) {
      return null;
    } else {
      out += s[i];
    }
  }
  return out;
}

export function parseMailParams(rest: string, ctx: ParamContext): ParamResult<MailParams> {
  const raw = splitParams(rest);
  if (!Array.isArray(raw)) return { ok: false, reply: raw };
  let size: number | undefined;
  let body: MailBodyType | undefined;
  let smtputf8 = false;
  let ret: DsnRet | undefined;
  let envid: string | undefined;
  let prdr: boolean | undefined;
  let auth: string | undefined;
  for (const { keyword, value } of raw) {
    if (!ctx.esmtp) return unknown(keyword);
    switch (keyword) {
      case "SIZE":
        if (!ctx.size) return unknown(keyword);
        if (value === undefined || !/^\d{1,20}$/.test(value)) return bad("Bad SIZE parameter");
        size = Number(value);
        break;
      case "BODY": {
        if (!ctx.eightBitMime) return unknown(keyword);
        const v = value?.toUpperCase();
        if (v !== "7BIT" && v !== "8BITMIME" && !(v === "BINARYMIME" && ctx.binaryMime === true)) return bad("Bad BODY parameter");
        body = v;
        break;
      }
      case "SMTPUTF8":
        if (!ctx.smtputf8) return unknown(keyword);
        if (value !== undefined) return bad("SMTPUTF8 takes no value");
        smtputf8 = true;
        break;
      case "RET": {
        if (!ctx.dsn) return unknown(keyword);
        const v = value?.toUpperCase();
        if (v !== "FULL" && v !== "HDRS") return bad("Bad RET parameter");
        ret = v;
        break;
      }
      case "ENVID": {
        if (!ctx.dsn) return unknown(keyword);
        const decoded = value === undefined || value.length > 100 ? null : decodeXtext(value);
        if (decoded === null) return bad("Bad ENVID parameter");
        envid = decoded;
        break;
      }
      case "PRDR":
        if (ctx.prdr !== true) return unknown(keyword);
        if (value !== undefined) return bad("PRDR takes no value");
        prdr = true;
        break;
      case "AUTH": {
        if (ctx.auth !== true) return unknown(keyword);
        const decoded = value === undefined || value.length > 500 ? null : value === "<>" ? "<>" : decodeXtext(value);
        if (decoded === null || decoded.length === 0) return bad("Bad AUTH parameter");
        auth = ctx.authenticated === true ? decoded : "<>";
        break;
      }
      default:
        return unknown(keyword);
    }
  }
  const params: MailParams = { smtputf8 };
  return { ok: true, params: { ...params, ...defined({ size, body, ret, envid, prdr, auth }) } };
}

const notifyValues = new Set<NotifyValue>(["NEVER", "SUCCESS", "FAILURE", "DELAY"]);

function parseNotify(value: string | undefined): NotifyValue[] | null {
  if (value === undefined) return null;
  const list = value.toUpperCase().split(",");
  const seen = new Set<NotifyValue>();
  for (const v of list) {
    if (!notifyValues.has(v as NotifyValue) || seen.has(v as NotifyValue)) return null;
    seen.add(v as NotifyValue);
  }
  if (seen.has("NEVER") && seen.size > 1) return null;
  return [...seen];
}

function parseOrcpt(value: string | undefined): string | null {
  if (value === undefined || value.length > 500) return null;
  const semi = value.indexOf(";");
  if (semi <= 0) return null;
  const type = value.slice(0, semi);
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(type)) return null;
  const addr = value.slice(semi + 1);
  // utf-8-addr-xtext / utf-8-address (RFC 6533) are kept as sent
  const decoded = type.toLowerCase() === "utf-8" ? addr : decodeXtext(addr);
  if (decoded === null || decoded.length === 0) return null;
  return `${type};${decoded}`;
}

export function parseRcptParams(rest: string, ctx: ParamContext): ParamResult<RcptParams> {
  const raw = splitParams(rest);
  if (!Array.isArray(raw)) return { ok: false, reply: raw };
  let notify: NotifyValue[] | undefined;
  let orcpt: string | undefined;
  for (const { keyword, value } of raw) {
    if (!ctx.esmtp || !ctx.dsn) return unknown(keyword);
    if (keyword === "NOTIFY") {
      const v = parseNotify(value);
      if (v === null) return bad("Bad NOTIFY parameter");
      notify = v;
    } else if (keyword === "ORCPT") {
      const v = parseOrcpt(value);
      if (v === null) return bad("Bad ORCPT parameter");
      orcpt = v;
    } else {
      return unknown(keyword);
    }
  }
  return { ok: true, params: defined({ notify, orcpt }) };
}

/** Drops undefined members so that exactOptionalPropertyTypes-style equality holds in tests. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
