/**
 * Test support (not exported from the package): drives an SmtpServerSession
 * through a list of client reads the way an adapter does, with a scripted
 * adapter policy, and splits each read into feeds at chosen points.
 */
import { prdrFinalReply } from "../prdr";
import { type Reply, reply } from "../reply";
import { replies } from "../replies";
import { SmtpServerSession } from "../session";
import { type SessionOptions, type SmtpEvent, type TlsStartResult, type Transaction } from "../types";
import { makeSplitters, type Splitter } from "./split";

export { rng, type Splitter } from "./split";

export const splitters = makeSplitters([7, 8, 9], 40);

/** In a read list: the TLS handshake completes here (the driver calls tlsStarted()). */
export const TLS = Symbol("tls handshake");
export type Read = string | Buffer | typeof TLS;

/** Content policy by local part: "defer..." 450, "reject..." 550, anything else accepted. */
export function contentVerdict(address: string): "accept" | "defer" | "reject" {
  const local = address.slice(0, address.lastIndexOf("@")).toLowerCase();
  return local.startsWith("defer") ? "defer" : local.startsWith("reject") ? "reject" : "accept";
}

export function prdrReplies(t: Transaction): Reply[] {
  return t.recipients.map((r) => {
    const a = r.recipient.address;
    const v = contentVerdict(a);
    return v === "accept" ? replies.prdrAccepted(a) : v === "defer" ? replies.prdrDeferred(a) : replies.prdrRejected(a);
  });
}

/** One reply for the whole message without PRDR: refused when all refuse, deferred when any does not accept. */
export function messageReply(t: Transaction): Reply {
  const v = t.recipients.map((r) => contentVerdict(r.recipient.address));
  if (v.every((x) => x === "reject")) return reply(550, "5.7.1", "Message content rejected");
  if (v.some((x) => x !== "accept")) return reply(450, "4.7.1", "Message content deferred");
  return replies.accepted("ID1");
}

/**
 * The scripted adapter: senders at tempfail.example get 451 at DATA/BDAT,
 * recipients at reject.example 550, content by contentVerdict(), STARTTLS
 * 220, AUTH user/secret... 235, user "temp" 454, anything else 535.
 */
export function decide(ev: SmtpEvent, s: SmtpServerSession): void {
  switch (ev.type) {
    case "mail":
      return s.respond(replies.senderOk);
    case "rcpt":
      return s.respond(ev.command.recipient.domain === "reject.example" ? replies.relayDenied : replies.recipientOk);
    case "data":
      return s.respond(ev.transaction.mail.sender?.domain === "tempfail.example" ? replies.localError : replies.startData);
    case "dataEnd":
      return s.respond(messageReply(ev.transaction));
    case "prdrEnd": {
      const rs = prdrReplies(ev.transaction);
      return s.respondPrdr(rs, prdrFinalReply(rs, "ID1"));
    }
    case "starttls":
      return s.respond(replies.readyToStartTls);
    case "auth":
      if (ev.username === "temp") return s.respond(replies.authTemporary);
      return s.respond(ev.username === "user" && ev.password.startsWith("secret") ? replies.authSuccessful : replies.authInvalid);
    default:
      return undefined;
  }
}

export interface Run {
  output: string;
  /** "250 2.1.0" per reply (the code alone without an enhanced code), the banner included */
  replies: string[];
  events: SmtpEvent[];
  body: string;
  closed: boolean;
  tls: TlsStartResult[];
  authenticated: boolean;
}

export interface DriveOptions {
  split?: Splitter;
  /** feed with { endOfRead: true } on the last part of each read (default false: plain feeds) */
  timed?: boolean;
  /** greet() before this read index (default 0: before the first read) */
  greetBefore?: number;
}

/** Feeds each read (split into parts), calls next() after every part (timed: after the read), takes the output after every read. */
export function drive(reads: readonly Read[], options: SessionOptions, o: DriveOptions = {}): Run {
  const s = new SmtpServerSession(options);
  const split = o.split ?? ((b: Buffer) => [b]);
  const events: SmtpEvent[] = [];
  const body: Buffer[] = [];
  const tls: TlsStartResult[] = [];
  let output = "";
  const pump = (): void => {
    for (;;) {
      for (let ev = s.next(); ev !== null; ev = s.next()) {
        if (ev.type === "body") body.push(ev.chunk);
        else events.push(ev);
        decide(ev, s);
      }
      // as an adapter: write the replies, then go on parsing the same read
      if (!s.outputFull) return;
      output += s.takeOutput();
    }
  };
  reads.forEach((read, i) => {
    if (i === (o.greetBefore ?? 0)) s.greet();
    if (read === TLS) {
      if (!s.closed) tls.push(s.tlsStarted());
    } else {
      const parts = split(typeof read === "string" ? Buffer.from(read, "latin1") : read);
      // timed: the adapter feeds a whole read, then asks for events; plain: events after every part
      parts.forEach((part, j) => {
        s.feed(part, o.timed === true ? { endOfRead: j === parts.length - 1 } : undefined);
        if (o.timed !== true) pump();
      });
      if (o.timed === true) pump();
    }
    output += s.takeOutput();
  });
  if (reads.length <= (o.greetBefore ?? 0)) s.greet();
  output += s.takeOutput();
  const bodyText = Buffer.concat(body).toString("latin1");
  return { output, replies: summarize(output), events, body: bodyText, closed: s.closed, tls, authenticated: s.authenticated };
}

/** "250 2.1.0" per reply (the code alone when it has no enhanced code). */
export function summarize(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split("\r\n")) {
    if (line.length < 3 || line[3] === "-") continue;
    const m = /^(\d{3}) ([245]\.\d+\.\d+) /.exec(line);
    out.push(m ? `${m[1]} ${m[2]}` : line.slice(0, 3));
  }
  return out;
}

export const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
