/**
 * The session a client gets when the connection may not do SMTP but must still
 * be answered: after a failed PROXY negotiation Exim sends its banner, then
 * refuses every command except QUIT with 503. Lines are counted, not parsed.
 *
 * SECURITY: input is hostile and unparsed; memory is bounded by maxLineBytes
 * (the rest of an over-long line is discarded) and the session closes after
 * maxCommands refused commands.
 */
import { formatServerReply, type Reply } from "./reply";
import { replies } from "./replies";

export interface RefusingSessionOptions {
  hostname: string;
  refusal: Reply;
  /** refused commands before 421 and close */
  maxCommands?: number;
  maxLineBytes?: number;
}

export interface RefusingOutput {
  /** replies to write, in order */
  output: string;
  /** the session is over: write output, then close */
  close: boolean;
}

const LF = 0x0a;

export class RefusingSession {
  private line: number[] = [];
  private overflow = false;
  private refused = 0;
  private closed = false;
  private readonly maxCommands: number;
  private readonly maxLineBytes: number;

  constructor(private readonly options: RefusingSessionOptions) {
    this.maxCommands = options.maxCommands ?? 20;
    this.maxLineBytes = options.maxLineBytes ?? 512;
  }

  greet(): string {
    return formatServerReply(replies.banner(this.options.hostname));
  }

  feed(chunk: Uint8Array): RefusingOutput {
    let output = "";
    for (const byte of chunk) {
      if (this.closed) break;
      if (byte !== LF) {
        if (this.line.length < this.maxLineBytes) this.line.push(byte);
        else this.overflow = true;
        continue;
      }
      output += formatServerReply(this.answer());
    }
    return { output, close: this.closed };
  }

  private answer(): Reply {
    const text = Buffer.from(this.line).toString("latin1").replace(/\r$/, "");
    const overflow = this.overflow;
    this.line = [];
    this.overflow = false;
    if (!overflow && /^quit$/i.test(text.trim())) {
      this.closed = true;
      return replies.bye;
    }
    this.refused++;
    if (this.refused >= this.maxCommands) {
      this.closed = true;
      return replies.tooManyErrors;
    }
    return this.options.refusal;
  }
}
