import { createHash } from "node:crypto";
import { type KV } from "@postern/bus";
import { z } from "zod";
import { jetStreamApiCode, StateConflictError, StateCorruptError } from "./errors";

/**
 * Per-message delivery progress in KV `delivery-state` (see docs/adr/0002):
 * the final status of each recipient, the attempt counter, when the next
 * attempt is due, and an outbox of events recorded but not yet reported.
 */
const rcptStateSchema = z.object({
  status: z.enum(["delivered", "failed", "deferred"]),
  attempt: z.number().int(),
  errstr: z.string().optional(),
});
const stateSchema = z.object({
  v: z.literal(1),
  attempts: z.number().int().nonnegative(),
  /** Epoch ms of the first attempt (the retry age when the record has no received_at). */
  first_attempt_at: z.number().nonnegative(),
  /** Epoch ms before which no new attempt is made (a redelivery that comes early is put back). */
  next_attempt_at: z.number().nonnegative(),
  rcpts: z.record(z.string(), rcptStateSchema),
  outbox: z.array(z.unknown()),
  complete: z.boolean(),
  /** Bounces built but not yet published to MAIL: JetStream msg id and the encoded MailRecord (base64). */
  dsn_pending: z.array(z.object({ id: z.string(), data: z.string() })).optional(),
  /**
   * Recipient positions being delivered when this state was written: still set on load means
   * the process died mid-delivery, so the server may already have the message (a redelivery
   * is reported as possible_duplicate).
   */
  inflight: z.array(z.number().int()).optional(),
  /** Until when the writer of `inflight` counts as still delivering (epoch ms; its ack wait). */
  inflight_until: z.number().optional(),
  /** An operator asked (postern queue bounce|remove) to fail the pending recipients, with or without a bounce. */
  cancel: z.enum(["bounce", "remove"]).optional(),
});
export type RcptState = z.infer<typeof rcptStateSchema>;
export type DeliveryState = z.infer<typeof stateSchema>;

export function emptyState(): DeliveryState {
  return { v: 1, attempts: 0, first_attempt_at: 0, next_attempt_at: 0, rcpts: {}, outbox: [], complete: false };
}

export function isFinal(s: RcptState | undefined): boolean {
  return s !== undefined && s.status !== "deferred";
}

const SAFE_KEY = /^[-\w=]+(?:\.[-\w=]+)*$/;

/** The KV key of a message id: the id itself when it is a valid key, else "sha256-" + hex digest. */
export function stateKey(messageId: string): string {
  if (messageId.length > 0 && messageId.length <= 200 && SAFE_KEY.test(messageId)) return messageId;
  return `sha256-${createHash("sha256").update(messageId).digest("hex")}`;
}

export interface LoadedState {
  state: DeliveryState;
  /** KV revision to compare-and-set against; 0 when there is no entry. */
  revision: number;
  /**
   * The key holds a purge marker: the message was completed and acked before. A copy that
   * JetStream had already handed out (ack wait ran out while it was being delivered) must
   * not be delivered again. Markers are swept after state_marker_retention_ms (state-sweep.ts);
   * a copy arriving after that finds no entry and is delivered again.
   */
  done?: boolean;
}

/** Compare-and-set access to the delivery state of one message. */
export class StateStore {
  constructor(private readonly kv: KV) {}

  async load(messageId: string): Promise<LoadedState> {
    const entry = await this.kv.get(stateKey(messageId));
    if (entry === null) return { state: emptyState(), revision: 0 };
    if (entry.operation !== "PUT") return { state: emptyState(), revision: entry.revision, done: true };
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(entry.value).toString("utf8"));
    } catch (err) {
      throw new StateCorruptError(messageId, "not JSON", { cause: err });
    }
    const parsed = stateSchema.safeParse(raw);
    if (!parsed.success) throw new StateCorruptError(messageId, parsed.error.issues[0]?.message ?? "invalid");
    return { state: parsed.data, revision: entry.revision };
  }

  /** Writes `state` if the entry is still at `revision`; returns the new revision. */
  async save(messageId: string, state: DeliveryState, revision: number): Promise<number> {
    const key = stateKey(messageId);
    const data = Buffer.from(JSON.stringify(state));
    try {
      // Not kv.create(): it writes over a deleted or purged entry, and a purged entry
      // means "completed" here. After nats-server loses its consumer state (kill -9) a
      // completed record comes back as a first delivery; the strict create below turns
      // that into a conflict, the state is read, and the copy is acked, not sent again.
      return revision === 0 ? await this.kv.put(key, data, { previousSeq: 0 }) : await this.kv.update(key, data, revision);
    } catch (err) {
      if (isWrongSequence(err)) throw new StateConflictError(messageId, { cause: err });
      throw err;
    }
  }

  /** Removes the entry once the message is acked (the record can no longer come back). */
  async remove(messageId: string): Promise<void> {
    await this.kv.purge(stateKey(messageId));
  }
}

const WRONG_LAST_SEQUENCE = 10071;

function isWrongSequence(err: unknown): boolean {
  return jetStreamApiCode(err) === WRONG_LAST_SEQUENCE || (err instanceof Error && /wrong last sequence|key exists/i.test(err.message));
}
