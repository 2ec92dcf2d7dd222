// The audit event: what callers give (AuditEventInput), what is signed (AuditEvent, its
// canonical JSON), and what is stored and forwarded (SealedEvent: body + hash + sig).
import { z } from 'zod';
import { AUDIT_ACTIONS, catalogEntry, type AuditAction, type Outcome } from './catalog';

/** Details carry ids, reasons and counts only: no PHI, no secrets, bounded in size. */
export type AuditDetailValue = string | number | boolean | null | readonly string[];
export type AuditDetails = Readonly<Record<string, AuditDetailValue>>;

export interface AuditEventInput {
  readonly action: AuditAction;
  /** Defaults to the catalog's outcome for the action. */
  readonly outcome?: Outcome;
  /** Enrolled user id (never a badge number or a name); null for the agent itself. */
  readonly user?: string | null;
  /** How: badge, badge+pin, badge+fido2, idle, manual, suspend, os-lock, policy... */
  readonly method?: string | null;
  readonly details?: AuditDetails;
}

export const EVENT_FORMAT_VERSION = 1;

/** The signed content. `hash = SHA-256(prevHash ‖ canonicalJson(event))`, `sig = Ed25519(hash)`. */
export interface AuditEvent {
  readonly v: typeof EVENT_FORMAT_VERSION;
  readonly seq: number;
  readonly id: string;
  readonly time: string;
  readonly device: string;
  readonly keyId: string;
  readonly action: AuditAction;
  readonly outcome: Outcome;
  readonly user: string | null;
  readonly method: string | null;
  readonly details: AuditDetails;
  readonly prevHash: string;
}

/**
 * An event with its place in the chain but without its signature: what a lane whose
 * messages do not carry signatures reads (syslog: an ATNA message carries seq, id and hash).
 */
export interface ChainedEvent {
  readonly seq: number;
  /** RFC 8785 canonical JSON of the AuditEvent, exactly as hashed. */
  readonly body: string;
  /** SHA-256, lowercase hex. */
  readonly hash: string;
}

/** An event as stored and sent: the exact canonical bytes plus their hash and signature. */
export interface SealedEvent extends ChainedEvent {
  /** Ed25519 signature over the 32 hash bytes, base64. */
  readonly sig: string;
}

export const GENESIS_HASH = '0'.repeat(64);

const ID = z.string().min(1).max(128).regex(/^[\w.@:+-]+$/, 'ids may contain letters, digits and . _ @ : + - only');
const detailValue = z.union([
  z.string().max(1024),
  z.number().finite(),
  z.boolean(),
  z.null(),
  z.array(z.string().max(1024)).max(64),
]);

export const auditEventInputSchema = z.strictObject({
  action: z.enum(AUDIT_ACTIONS as [AuditAction, ...AuditAction[]]),
  outcome: z.union([z.literal(0), z.literal(4), z.literal(8), z.literal(12)]).optional(),
  user: ID.nullable().optional(),
  method: z.string().min(1).max(64).nullable().optional(),
  details: z
    .record(z.string().min(1).max(64), detailValue)
    .refine((d) => Object.keys(d).length <= 32, 'details may have at most 32 keys')
    .optional(),
});

export const auditEventSchema = z.strictObject({
  v: z.literal(EVENT_FORMAT_VERSION),
  seq: z.number().int().positive(),
  id: z.string().uuid(),
  time: z.string().datetime({ offset: false, precision: 3 }),
  device: z.string().min(1),
  keyId: z.string().regex(/^[0-9a-f]{32}$/),
  action: z.enum(AUDIT_ACTIONS as [AuditAction, ...AuditAction[]]),
  outcome: z.union([z.literal(0), z.literal(4), z.literal(8), z.literal(12)]),
  user: z.string().nullable(),
  method: z.string().nullable(),
  details: z.record(z.string(), detailValue),
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
});

/** Parses a stored/forwarded body back into an event; throws a ZodError naming the field. */
export function parseEventBody(body: string): AuditEvent {
  return auditEventSchema.parse(JSON.parse(body)) as AuditEvent;
}

/** Checks an input as the store does; returns `path: reason` lines, or null when valid. */
export function auditInputProblems(input: AuditEventInput): string | null {
  const parsed = auditEventInputSchema.safeParse(input);
  if (parsed.success) return null;
  return parsed.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
}

/** The one way an input becomes an event: catalog outcome, nulls for absent fields. */
export function buildEvent(
  input: AuditEventInput,
  at: { readonly seq: number; readonly id: string; readonly time: string; readonly device: string; readonly keyId: string; readonly prevHash: string },
): AuditEvent {
  return {
    v: EVENT_FORMAT_VERSION,
    seq: at.seq,
    id: at.id,
    time: at.time,
    device: at.device,
    keyId: at.keyId,
    action: input.action,
    outcome: input.outcome ?? catalogEntry(input.action).outcome,
    user: input.user ?? null,
    method: input.method ?? null,
    details: input.details ?? {},
    prevHash: at.prevHash,
  };
}
