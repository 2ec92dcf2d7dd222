// The directory as it travels between the collector and the agents (over the same mutual
// TLS as events, every request signed by the device key): users with their badge tokens,
// PIN verifier and FIDO2 credentials, each stamped with the directory version of its last
// change; enrolments and revocations made at a workstation; failure reports for the
// organisation-wide lockout; counter checks for cloned keys. zod schemas shared by both ends.
import { z } from 'zod';

export const DIRECTORY_PATH = '/v1/directory';
export const DIRECTORY_STREAM_PATH = '/v1/directory/stream';
export const DIRECTORY_CHANGES_PATH = '/v1/directory/changes';
export const AUTH_FAILURES_PATH = '/v1/auth/failures';
export const AUTH_SUCCESS_PATH = '/v1/auth/success';
export const FIDO_COUNTER_PATH = '/v1/auth/fido-counter';
export const ORG_KEY_PATH = '/v1/keys/directory';

const userId = z.string().regex(/^[A-Za-z0-9][\w.@:+-]{0,63}$/);
const state = z.enum(['active', 'revoked']);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const b64url = z.string().min(1).max(4096).regex(/^[A-Za-z0-9_-]+$/);
const iso = z.string().datetime({ offset: true });
const version = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const directoryBadgeSchema = z.strictObject({ token: hex64, state, createdAt: iso });
export const directoryCredentialSchema = z.strictObject({
  id: b64url,
  /** COSE public key, base64url. */
  publicKey: b64url,
  counter: z.number().int().nonnegative(),
  transports: z.array(z.string().max(32)).max(8),
  label: z.string().min(1).max(40),
  state,
  createdAt: iso,
});

export const directoryUserSchema = z.strictObject({
  id: userId,
  displayName: z.string().min(1).max(80),
  roles: z.array(z.string().min(1).max(64)).max(16),
  state,
  pinVerifier: z.string().max(256).nullable(),
  /** An organisation-wide lockout in force (too many failures anywhere), or null. */
  lockedUntil: iso.nullable(),
  badges: z.array(directoryBadgeSchema).max(32),
  credentials: z.array(directoryCredentialSchema).max(32),
  version,
});
export type DirectoryUserRecord = z.infer<typeof directoryUserSchema>;

/** GET /v1/directory?since=V: every user changed after V, and the version now. */
export const directoryPageSchema = z.strictObject({ version, users: z.array(directoryUserSchema).max(100_000) });
export type DirectoryPage = z.infer<typeof directoryPageSchema>;

/** The proof a workstation sends with an enrolment: the enroller's sealed sign-in event from its own chain. */
export const enrollerProofSchema = z.strictObject({
  seq: z.number().int().positive(),
  body: z.string().min(2).max(16 * 1024),
  hash: hex64,
  sig: z.string().regex(/^[A-Za-z0-9+/]{86}==$/),
});
export type EnrollerProof = z.infer<typeof enrollerProofSchema>;

export const directoryChangeSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('enrol'),
    /** Unique per change: a replayed request is refused. */
    id: z.uuid(),
    enroller: userId,
    proof: enrollerProofSchema,
    userId,
    profile: z.strictObject({ displayName: z.string().min(1).max(80), roles: z.array(z.string().min(1).max(64)).max(16) }).optional(),
    badgeToken: hex64.optional(),
    replaceBadges: z.boolean().optional(),
    pinVerifier: z.string().max(256).optional(),
    credential: directoryCredentialSchema.omit({ state: true, createdAt: true }).optional(),
  }),
  z.strictObject({
    kind: z.literal('revoke'),
    id: z.uuid(),
    enroller: userId,
    proof: enrollerProofSchema,
    target: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('user'), userId }),
      z.strictObject({ kind: z.literal('badge'), userId, ref: z.string().regex(/^[0-9a-f]{6,64}$/) }),
      z.strictObject({ kind: z.literal('credential'), userId, credentialId: b64url }),
    ]),
  }),
]);
export type DirectoryChange = z.infer<typeof directoryChangeSchema>;

/** 200 to a change: the directory version that holds it. 409: a conflict, said plainly. */
export const changeAcceptedSchema = z.strictObject({ version });
export const changeRefusedSchema = z.strictObject({ reason: z.string().max(64), message: z.string().max(500) });

export const failureReportSchema = z.strictObject({ userId, kind: z.string().regex(/^[a-z0-9-]{1,64}$/) });
export const lockoutReplySchema = z.strictObject({ failures: z.number().int().nonnegative(), triesLeft: z.number().int().nonnegative(), lockedUntil: iso.nullable() });
export type LockoutReply = z.infer<typeof lockoutReplySchema>;
export const successReportSchema = z.strictObject({ userId });

export const counterCheckSchema = z.strictObject({ credentialId: b64url, counter: z.number().int().nonnegative() });
export const counterReplySchema = z.strictObject({ ok: z.boolean(), highest: z.number().int().nonnegative() });

export const orgKeyReplySchema = z.strictObject({ key: z.string().regex(/^[A-Za-z0-9+/]{43}=$/), keyId: z.string().regex(/^[0-9a-f]{16}$/) });
