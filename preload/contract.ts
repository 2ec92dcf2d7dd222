// The one IPC contract: channel names, request schemas (zod) and the views main sends
// back. Main validates every request against these schemas (main/agent-handlers.ts); the
// preload bundle forwards only these channels; the renderer imports types only.
// Secrets (PIN, card number, key responses) travel only toward main and are never echoed.
import { z } from 'zod';

// ---------------------------------------------------------------------------- requests

/** A keyboard-wedge burst the page classified as a badge (timings as the page measured them). */
export const badgeBurstSchema = z.strictObject({
  value: z.string().regex(/^[0-9A-Za-z]{4,64}$/, 'a card number is 4 to 64 letters or digits'),
  burstMs: z.number().min(0).max(10_000),
  maxGapMs: z.number().min(0).max(10_000),
});
export type BadgeBurst = z.infer<typeof badgeBurstSchema>;

const b64url = z.string().min(1).max(8192).regex(/^[A-Za-z0-9_-]*={0,2}$/, 'base64url');

/** @simplewebauthn/browser's AuthenticationResponseJSON, bounded. */
export const authenticationResponseSchema = z.strictObject({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: b64url,
    authenticatorData: b64url,
    signature: b64url,
    userHandle: b64url.optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string().max(64), z.unknown()).refine((r) => Object.keys(r).length <= 16, 'too many extension results'),
});

/** @simplewebauthn/browser's RegistrationResponseJSON, bounded. */
export const registrationResponseSchema = z.strictObject({
  id: b64url,
  rawId: b64url,
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: b64url,
    attestationObject: b64url,
    authenticatorData: b64url.optional(),
    transports: z.array(z.string().max(32)).max(8).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64url.optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string().max(64), z.unknown()).refine((r) => Object.keys(r).length <= 16, 'too many extension results'),
});

/** How a WebAuthn ceremony ended in the page when it produced no response. */
export const CEREMONY_FAILURES = ['timeout', 'cancelled', 'not-allowed', 'unsupported', 'error'] as const;
export type CeremonyFailure = (typeof CEREMONY_FAILURES)[number];

const assertionOutcomeSchema = z.union([
  z.strictObject({ response: authenticationResponseSchema }),
  z.strictObject({ failed: z.enum(CEREMONY_FAILURES) }),
]);
const registrationOutcomeSchema = z.union([
  z.strictObject({ response: registrationResponseSchema, label: z.string().trim().min(1).max(40) }),
  z.strictObject({ failed: z.enum(CEREMONY_FAILURES) }),
]);

const pinSchema = z.strictObject({ pin: z.string().regex(/^[0-9]{1,32}$/, 'digits only') });

export const BREAKGLASS_REASONS = [
  { code: 'life-threatening', label: 'Life-threatening emergency' },
  { code: 'patient-safety', label: 'Urgent patient safety need' },
  { code: 'system-outage', label: 'Sign-in system not working' },
  { code: 'other', label: 'Other (describe below)' },
] as const;
export type BreakglassReasonCode = (typeof BREAKGLASS_REASONS)[number]['code'];

export const breakglassReasonSchema = z
  .strictObject({
    code: z.enum(BREAKGLASS_REASONS.map((r) => r.code) as [BreakglassReasonCode, ...BreakglassReasonCode[]]),
    text: z.string().trim().max(160),
  })
  .refine((r) => r.code !== 'other' || r.text.length >= 3, { path: ['text'], message: 'describe the reason in a few words' });
export type BreakglassReason = z.infer<typeof breakglassReasonSchema>;

const userIdSchema = z.string().trim().regex(/^[A-Za-z0-9][\w.@:+-]{0,63}$/, 'letters, digits and . _ @ : + - only');
const none = z.strictObject({});

/**
 * Every renderer → main request: its channel and argument schema. The handler table in
 * main (main/agent-handlers.ts) has exactly these keys; the preload forwards only these.
 */
export const REQUESTS = {
  /** The page has loaded: the current view and the reader thresholds. */
  'lock:hello': none,
  'lock:badge': badgeBurstSchema,
  'lock:pin': pinSchema,
  /** The tapped-in user confirms that their badge sign-in ends the owner's session. */
  'lock:confirm-switch': none,
  'lock:fido2-begin': none,
  'lock:fido2-finish': assertionOutcomeSchema,
  /** Back to the locked screen; forgets a pending sign-in. */
  'lock:cancel': none,
  /** "I'm still here" on the idle warning. */
  'lock:still-here': none,
  'lock:breakglass-begin': none,
  /** Identify by user id when the badge is not at hand (a badge tap also identifies). */
  'lock:breakglass-user': z.strictObject({ userId: userIdSchema }),
  'lock:breakglass-reason': breakglassReasonSchema,
  'lock:breakglass-extend': breakglassReasonSchema,
  'lock:breakglass-end': none,

  'enroll:hello': none,
  'enroll:badge': badgeBurstSchema,
  'enroll:pin': pinSchema,
  'enroll:fido2-begin': none,
  'enroll:fido2-finish': assertionOutcomeSchema,
  'enroll:choose': z.strictObject({ task: z.enum(['enrol', 'revoke']) }),
  'enroll:subject': z.strictObject({ userId: userIdSchema, displayName: z.string().trim().max(80) }),
  'enroll:skip': none,
  'enroll:register-begin': none,
  'enroll:register-finish': registrationOutcomeSchema,
  'enroll:save': none,
  'enroll:revoke': z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('user') }),
    z.strictObject({ kind: z.literal('badge'), ref: z.string().regex(/^[0-9a-f]{6,64}$/) }),
    z.strictObject({ kind: z.literal('credential'), credentialId: b64url }),
  ]),
  'enroll:back': none,
  'enroll:exit': none,

  /** The status window: the agent's state for the help desk. */
  'status:get': none,
  /** "Copy for the help desk": main puts the status text on the clipboard. */
  'status:copy': none,
} as const;

export type RequestChannel = keyof typeof REQUESTS;
export type RequestOf<C extends RequestChannel> = z.input<(typeof REQUESTS)[C]>;
export const REQUEST_CHANNELS = Object.keys(REQUESTS) as RequestChannel[];

// ---------------------------------------------------------------------------- views

export interface UserLabel {
  readonly displayName: string;
}

/** What the reader thresholds are (policy), for the page's badge classifier. */
export interface ReaderConfig {
  readonly maxKeyGapMs: number;
  readonly maxBurstMs: number;
  readonly minLength: number;
  readonly maxLength: number;
  readonly prefix: string;
  readonly suffix: string;
  readonly terminators: readonly ('Enter' | 'Tab')[];
}

export type NoticeKind =
  | 'unknown-badge'
  | 'revoked-badge'
  | 'revoked-user'
  | 'no-key-enrolled'
  | 'no-pin-enrolled'
  | 'directory-unavailable';

export type KeyProblem = 'no-key-detected' | 'key-refused' | 'key-revoked' | 'cancelled' | 'not-allowed';

export type FactorPurpose = 'unlock' | 'breakglass' | 'enroller';

export interface ReasonChoice {
  readonly code: BreakglassReasonCode;
  readonly label: string;
}

export type LockView =
  | { readonly screen: 'unlocked'; readonly user: UserLabel }
  | { readonly screen: 'locked'; readonly owner: UserLabel | null; readonly directoryEmpty: boolean }
  /** A badge-only sign-in would end another user's session: confirm or cancel. */
  | { readonly screen: 'tap-over'; readonly user: UserLabel; readonly owner: UserLabel }
  | {
      readonly screen: 'pin';
      readonly user: UserLabel;
      readonly purpose: FactorPurpose;
      /** After a security key on Linux and macOS: the agent's PIN is the user verification. */
      readonly afterKey: boolean;
      readonly wrong: boolean;
      readonly triesLeft: number;
      readonly minLength: number;
      readonly maxLength: number;
      /** Signing in ends this user's session (tap-over). */
      readonly ends: UserLabel | null;
    }
  | {
      readonly screen: 'fido2';
      readonly user: UserLabel;
      readonly purpose: FactorPurpose;
      readonly timeoutMs: number;
      readonly problem: KeyProblem | null;
      readonly ends: UserLabel | null;
    }
  | { readonly screen: 'locked-out'; readonly user: UserLabel; readonly until: string; readonly helpDesk: string }
  | { readonly screen: 'notice'; readonly kind: NoticeKind; readonly helpDesk: string }
  | {
      readonly screen: 'breakglass';
      readonly step: 'identify' | 'reason';
      readonly user: UserLabel | null;
      readonly maxMinutes: number;
      readonly reasons: readonly ReasonChoice[];
      readonly error: string | null;
    }
  | {
      readonly screen: 'emergency';
      readonly user: UserLabel;
      readonly expiresAt: string;
      readonly secondsLeft: number;
      readonly reason: string;
      readonly reasons: readonly ReasonChoice[];
      readonly error: string | null;
    }
  | { readonly screen: 'warning'; readonly user: UserLabel; readonly secondsLeft: number; readonly emergency: boolean }
  /** The agent cannot do what was asked: what to do next, never a stack trace. */
  | { readonly screen: 'error'; readonly message: string; readonly action: string };

export type LockScreen = LockView['screen'];

export interface EnrolSubjectSummary {
  readonly userId: string;
  readonly displayName: string;
  readonly isNew: boolean;
  readonly badge: boolean;
  readonly pin: boolean;
  readonly key: string | null;
}

export interface RevocableEntries {
  readonly userId: string;
  readonly displayName: string;
  readonly state: 'active' | 'revoked';
  readonly badges: readonly { readonly ref: string; readonly state: 'active' | 'revoked'; readonly createdAt: string }[];
  readonly keys: readonly { readonly id: string; readonly label: string; readonly state: 'active' | 'revoked'; readonly createdAt: string }[];
}

export type EnrolView =
  | { readonly screen: 'enroller-badge'; readonly error: string | null }
  | { readonly screen: 'enroller-factor'; readonly factor: Extract<LockView, { screen: 'pin' | 'fido2' }> }
  | { readonly screen: 'menu'; readonly enroller: UserLabel; readonly message: string | null }
  | { readonly screen: 'subject'; readonly task: 'enrol' | 'revoke'; readonly error: string | null }
  | { readonly screen: 'subject-badge'; readonly subject: EnrolSubjectSummary; readonly error: string | null }
  | {
      readonly screen: 'subject-pin';
      readonly subject: EnrolSubjectSummary;
      readonly confirm: boolean;
      readonly minLength: number;
      readonly maxLength: number;
      readonly error: string | null;
    }
  | { readonly screen: 'subject-key'; readonly subject: EnrolSubjectSummary; readonly timeoutMs: number; readonly error: string | null }
  | { readonly screen: 'review'; readonly subject: EnrolSubjectSummary; readonly error: string | null }
  | { readonly screen: 'revoke'; readonly entries: RevocableEntries; readonly message: string | null }
  | { readonly screen: 'done'; readonly subject: EnrolSubjectSummary }
  /** Enrolment ended (finished, timed out or refused): the page goes back to the lock screen. */
  | { readonly screen: 'closed'; readonly message: string | null };

/** What the status window shows: problems first, then one section per area, then the policy. */
export interface StatusView {
  readonly generatedAt: string;
  /** Plain sentences, most urgent first; empty when all is well. */
  readonly problems: readonly string[];
  readonly sections: readonly { readonly title: string; readonly rows: readonly (readonly [label: string, value: string])[] }[];
  readonly policy: PolicyView;
}

/** The effective policy: settings not at their default, with the source that set them, and every rejection. */
export interface PolicyView {
  /** One line: where the policy in force comes from. */
  readonly summary: string;
  /** Problems (rejections, unreadable sources) first. */
  readonly rows: readonly PolicyRowView[];
}

export interface PolicyRowView {
  readonly setting: string;
  readonly value: string;
  readonly source: string;
  readonly note: string;
  /** A rejected value or an unreadable source (the note says so in words, not only by colour). */
  readonly problem: boolean;
}

/** Each view carries a sequence number so a page never renders an older one over a newer. */
export type Sequenced<V> = V & { readonly seq: number };

export interface HelloReply<V> {
  readonly view: Sequenced<V>;
  readonly reader: ReaderConfig;
}

/** Options for @simplewebauthn/browser (JSON from @simplewebauthn/server), or the view to show instead. */
export type CeremonyStart<O, V> = { readonly options: O; readonly timeoutMs: number } | { readonly view: Sequenced<V> };

/** What each request answers. */
export interface Replies {
  'lock:hello': HelloReply<LockView>;
  'lock:fido2-begin': CeremonyStart<unknown, LockView>;
  'enroll:hello': HelloReply<EnrolView>;
  'enroll:fido2-begin': CeremonyStart<unknown, EnrolView>;
  'enroll:register-begin': CeremonyStart<unknown, EnrolView>;
  'status:get': StatusView;
  'status:copy': { readonly copied: boolean };
}
export type ReplyOf<C extends RequestChannel> = C extends keyof Replies ? Replies[C] : C extends `lock:${string}` ? Sequenced<LockView> : Sequenced<EnrolView>;

/** What crosses the transport for a request: the reply, or a short reason (never a payload). */
export type RequestResult = { readonly ok: true; readonly reply: unknown } | { readonly ok: false; readonly error: string };

// ---------------------------------------------------------------------------- events

/** main → renderer pushes. */
export const EVENTS = {
  lockView: 'lock:view',
  enrolView: 'enroll:view',
} as const;

/** What preload exposes on `window.agent`. No secret ever comes back across it. */
export interface AgentApi {
  request<C extends RequestChannel>(channel: C, payload: RequestOf<C>): Promise<ReplyOf<C>>;
  onLockView(listener: (view: Sequenced<LockView>) => void): () => void;
  onEnrolView(listener: (view: Sequenced<EnrolView>) => void): () => void;
}
