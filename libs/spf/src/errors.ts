/**
 * Errors of @postern/libspf. Most are not thrown: evaluation returns them as
 * values and verdict.ts maps them to a result (syntax, limit and policy errors
 * to permerror, DNS errors to temperror). Only SpfInputError and
 * SpfOptionsError are thrown, for a bad client address or bad options (bugs in
 * the caller). Codes are stable and cross NATS and gRPC; classes do not.
 */
import { type SpfQueryType } from "./dns";

export const spfErrorCodes = {
  syntax: "POSTERN_SPF_SYNTAX",
  limit: "POSTERN_SPF_LIMIT",
  policy: "POSTERN_SPF_POLICY",
  dns: "POSTERN_SPF_DNS",
  internal: "POSTERN_SPF_INTERNAL",
  input: "POSTERN_SPF_INPUT",
  options: "POSTERN_SPF_OPTIONS",
} as const;
export type SpfErrorCode = (typeof spfErrorCodes)[keyof typeof spfErrorCodes];

export class SpfError extends Error {
  readonly code: SpfErrorCode;
  constructor(code: SpfErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SpfError";
    this.code = code;
  }
}

/** A record (or explanation string) that does not follow RFC 7208's grammar. */
export class SpfSyntaxError extends SpfError {
  /** What is wrong, without the offending text. */
  readonly reason: string;
  /** The offending term, if the error is inside one. */
  readonly term: string | undefined;
  constructor(reason: string, term?: string) {
    super(spfErrorCodes.syntax, term === undefined ? reason : `${reason}: ${term}`);
    this.name = "SpfSyntaxError";
    this.reason = reason;
    this.term = term;
  }
}

export const spfLimitKinds = {
  lookups: "lookups",
  voidLookups: "voidLookups",
  mxNames: "mxNames",
  queries: "queries",
} as const;
export type SpfLimitKind = (typeof spfLimitKinds)[keyof typeof spfLimitKinds];

/** A processing limit of RFC 7208 section 4.6.4 (or our query cap) was exceeded. */
export class SpfLimitError extends SpfError {
  readonly limit: SpfLimitKind;
  readonly max: number;
  constructor(limit: SpfLimitKind, max: number, detail: string) {
    super(spfErrorCodes.limit, `${detail} (limit ${max})`);
    this.name = "SpfLimitError";
    this.limit = limit;
    this.max = max;
  }
}

export const spfPolicyReasons = {
  multipleRecords: "multiple-records",
  includeNone: "include-none",
  redirectNone: "redirect-none",
} as const;
export type SpfPolicyReason = (typeof spfPolicyReasons)[keyof typeof spfPolicyReasons];

/** Published records that cannot be evaluated: two v=spf1 records, or an include/redirect target without one. */
export class SpfPolicyError extends SpfError {
  readonly reason: SpfPolicyReason;
  readonly domain: string;
  constructor(reason: SpfPolicyReason, domain: string) {
    const text = {
      "multiple-records": "more than one v=spf1 record",
      "include-none": "include target has no SPF record",
      "redirect-none": "redirect target has no SPF record",
    }[reason];
    super(spfErrorCodes.policy, `${text}: ${domain}`);
    this.name = "SpfPolicyError";
    this.reason = reason;
    this.domain = domain;
  }
}

/** A query failed (SERVFAIL, timeout, or the check's deadline passed). */
export class SpfDnsError extends SpfError {
  readonly queryName: string;
  readonly queryType: SpfQueryType;
  readonly outcome: "servfail" | "timeout";
  constructor(queryName: string, queryType: SpfQueryType, outcome: "servfail" | "timeout") {
    super(spfErrorCodes.dns, `DNS ${outcome} for ${queryType} ${queryName}`);
    this.name = "SpfDnsError";
    this.queryName = queryName;
    this.queryType = queryType;
    this.outcome = outcome;
  }
}

/** Something unexpected (a resolver that threw, a bug): reported as temperror. */
export class SpfInternalError extends SpfError {
  constructor(message: string, options?: ErrorOptions) {
    super(spfErrorCodes.internal, message, options);
    this.name = "SpfInternalError";
  }
}

/** Thrown: the caller passed an invalid client address or identity. */
export class SpfInputError extends SpfError {
  readonly field: string;
  constructor(field: string, message: string) {
    super(spfErrorCodes.input, `${field}: ${message}`);
    this.name = "SpfInputError";
    this.field = field;
  }
}

/** Thrown: invalid checker options (a bad guess record, explanation or limit). */
export class SpfOptionsError extends SpfError {
  readonly option: string;
  constructor(option: string, message: string, options?: ErrorOptions) {
    super(spfErrorCodes.options, `${option}: ${message}`, options);
    this.name = "SpfOptionsError";
    this.option = option;
  }
}

/** The errors evaluation returns as values. */
export type SpfEvalError = SpfSyntaxError | SpfLimitError | SpfPolicyError | SpfDnsError;
