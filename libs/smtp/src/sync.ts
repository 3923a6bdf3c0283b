/**
 * Exim's SMTP synchronisation check (smtp_enforce_sync), as pure bookkeeping.
 *
 * A client may send before it has seen our reply only where the protocol lets
 * it: never before the banner; with PIPELINING, anything except after a
 * command that must end a group (RFC 2920 3.1: EHLO, HELO, DATA, VRFY, NOOP,
 * and STARTTLS); without PIPELINING (before EHLO, after HELO, or when it is
 * switched off), nothing after any command and after the end of the message
 * content. Spam engines that blast a whole transaction without reading
 * replies fail this check; real clients never do.
 *
 * Timing comes from the adapter: feed(chunk, { endOfRead: true }) tells the
 * engine that a read from the socket ended there. A "sync point" (a command
 * that must be synchronised, at the offset just after its line) is violated
 * when a read that ended after that offset was fed before the reply was taken
 * with takeOutput(): either the same read went on past the command (checked
 * when the command is parsed), or a later read arrived while the reply was
 * still unsent (checked when it is fed). Input fed without endOfRead is never
 * judged: the engine cannot know when it arrived (Exim skips the check for
 * input that is not from a socket in the same way).
 */

export type SyncViolation = "greeting" | "pipelining";

export class SyncGuard {
  private greetedFlag = false;
  /** absolute offset just past the last read that ended */
  private readEnd = 0;
  /** the sync point whose reply is not taken yet, and where its reply starts in the output queue */
  private watch: { end: number; outMark: number } | null = null;

  constructor(private readonly enabled: boolean) {}

  get greeted(): boolean {
    return this.greetedFlag;
  }

  greet(): void {
    this.greetedFlag = true;
  }

  /** A read ended at absolute offset `end`; returns the violation it makes, if any. */
  readEnded(end: number): SyncViolation | null {
    if (!this.enabled || end <= this.readEnd) return null;
    this.readEnd = end;
    if (!this.greetedFlag) return "greeting";
    if (this.watch !== null && end > this.watch.end) return "pipelining";
    return null;
  }

  /**
   * A sync point at absolute offset `end`, its reply to be queued at output
   * index `outMark`: true when input of the same read follows it (violation),
   * otherwise the point is watched until its reply is taken.
   */
  point(end: number, outMark: number): boolean {
    if (!this.enabled) return false;
    if (this.readEnd > end) return true;
    this.watch = { end, outMark };
    return false;
  }

  /** Where the replies that must not go out start, after a violation found by readEnded(). */
  get outMark(): number {
    return this.watch?.outMark ?? Number.POSITIVE_INFINITY;
  }

  /** The output was taken; a point whose reply went out stops being watched. */
  taken(decisionPending: boolean): void {
    if (this.watch === null) return;
    if (decisionPending) this.watch = { end: this.watch.end, outMark: 0 };
    else this.watch = null;
  }

  /** After STARTTLS: the TLS layer starts a new conversation. */
  reset(): void {
    this.watch = null;
  }
}
