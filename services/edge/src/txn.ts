import { randomOctets } from "./random";

export type VerdictKind = "spf" | "dmarc";

interface Pending {
  kind: VerdictKind;
  resolve: (verdict: unknown) => void;
  timer: NodeJS.Timeout;
}

/**
 * The verdict rendezvous: a transaction waits for a worker's answer by txn_id
 * until a deadline. Verdicts that are late, unknown or of the wrong kind are
 * dropped (onDropped counts them). Ids are 128 random bits: unguessable.
 */
export class TxnRegistry {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly onDropped: (kind: VerdictKind, txnId: string) => void = () => undefined) {}

  /** A new transaction; `verdict` resolves with the answer, or null at the deadline or on close(). */
  open<T>(kind: VerdictKind, deadlineMs: number): { txnId: string; verdict: Promise<T | null> } {
    const txnId = randomOctets(16).toString("base64url");
    const verdict = new Promise<T | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(txnId);
        resolve(null);
      }, deadlineMs);
      timer.unref();
      this.pending.set(txnId, { kind, resolve: resolve as (v: unknown) => void, timer });
    });
    return { txnId, verdict };
  }

  /** Delivers a verdict; false when nobody waits for it (then it is dropped). */
  resolve(kind: VerdictKind, txnId: string, verdict: unknown): boolean {
    const p = this.pending.get(txnId);
    if (p === undefined || p.kind !== kind) {
      this.onDropped(kind, txnId);
      return false;
    }
    this.pending.delete(txnId);
    clearTimeout(p.timer);
    p.resolve(verdict);
    return true;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves every waiting transaction with null. */
  close(): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve(null);
      this.pending.delete(id);
    }
  }
}
