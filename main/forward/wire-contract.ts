// The HTTPS wire contract (main/forward/wire-contract.openapi.yaml) as zod schemas: the
// agent validates the collector's replies with them and the reference receiver validates
// the agent's batches with them, so both sides read one definition.
import { z } from 'zod';

export const EVENTS_PATH = '/v1/events';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const seq = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const sealedEventWireSchema = z.strictObject({
  seq: seq.min(1),
  /** The RFC 8785 canonical JSON exactly as hashed: the receiver re-hashes these bytes. */
  body: z.string().min(2).max(64 * 1024),
  hash: hex64,
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'must be a base64 Ed25519 signature (64 bytes)'),
});

export const eventBatchSchema = z.strictObject({
  device: z.string().min(1).max(128),
  keyId: z.string().regex(/^[0-9a-f]{32}$/),
  events: z.array(sealedEventWireSchema).min(1).max(10_000),
});
export type EventBatch = z.infer<typeof eventBatchSchema>;

/** 200: everything through `acceptedThrough` is stored (it may be below the batch end). */
export const acceptedReplySchema = z.object({ acceptedThrough: seq });
export type AcceptedReply = z.infer<typeof acceptedReplySchema>;

/** 409: the receiver's chain for this device ends at lastSeq/lastHash; resend from lastSeq + 1. */
export const resyncReplySchema = z.object({ lastSeq: seq, lastHash: hex64.nullable() });
export type ResyncReply = z.infer<typeof resyncReplySchema>;

/** 400/403/413/422: the batch itself is refused; resending it unchanged will not help. */
export const rejectedReplySchema = z.object({
  reason: z.string().min(1).max(64),
  message: z.string().max(2048).optional(),
  seq: seq.optional(),
});
export type RejectedReply = z.infer<typeof rejectedReplySchema>;
