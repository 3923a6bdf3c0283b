/**
 * Errors of @postern/libdmarc. Evaluation never throws them to the caller:
 * verdict.ts maps every one to a verdict (DNS and limit errors to temperror).
 * Only DmarcOptionsError (bad options: a bug in the caller) is thrown. Codes
 * are stable and cross NATS and gRPC; classes do not.
 */
export const dmarcErrorCodes = {
  dns: "POSTERN_DMARC_DNS",
  limit: "POSTERN_DMARC_LIMIT",
  internal: "POSTERN_DMARC_INTERNAL",
  options: "POSTERN_DMARC_OPTIONS",
} as const;
export type DmarcErrorCode = (typeof dmarcErrorCodes)[keyof typeof dmarcErrorCodes];

export class DmarcError extends Error {
  readonly code: DmarcErrorCode;
  constructor(code: DmarcErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DmarcError";
    this.code = code;
  }
}

/** A query failed transiently (SERVFAIL, timeout): the policy or an alignment is unknown. */
export class DmarcDnsError extends DmarcError {
  readonly qname: string;
  readonly qtype: string;
  readonly outcome: "servfail" | "timeout";
  constructor(qname: string, qtype: string, outcome: "servfail" | "timeout") {
    super(dmarcErrorCodes.dns, `DNS ${outcome} for ${qname} ${qtype}`);
    this.name = "DmarcDnsError";
    this.qname = qname;
    this.qtype = qtype;
    this.outcome = outcome;
  }
}

export const dmarcLimitKinds = { queries: "queries", walks: "walks", deadline: "deadline" } as const;
export type DmarcLimitKind = (typeof dmarcLimitKinds)[keyof typeof dmarcLimitKinds];

/** The per-message query cap, the tree-walk cap or the deadline was reached. */
export class DmarcLimitError extends DmarcError {
  readonly limit: DmarcLimitKind;
  constructor(limit: DmarcLimitKind, detail: string) {
    super(dmarcErrorCodes.limit, detail);
    this.name = "DmarcLimitError";
    this.limit = limit;
  }
}

/** Anything unexpected (a resolver that threw, a bug). */
export class DmarcInternalError extends DmarcError {
  constructor(message: string, options?: ErrorOptions) {
    super(dmarcErrorCodes.internal, message, options);
    this.name = "DmarcInternalError";
  }
}

export class DmarcOptionsError extends DmarcError {
  constructor(message: string) {
    super(dmarcErrorCodes.options, message);
    this.name = "DmarcOptionsError";
  }
}
