// The authentication part of the machine policy: how the lock page tells a badge reader
// from a person typing, PIN rules and lockout, the WebAuthn origin and user verification,
// who may enrol, and what the lock screen tells a locked-out nurse to do.
import { z } from 'zod';

export const USER_VERIFICATION_MODES = ['auto', 'required', 'discouraged'] as const;
export type UserVerificationMode = (typeof USER_VERIFICATION_MODES)[number];

/** How user verification is obtained for FIDO2, resolved per OS (DESIGN.md, Authentication). */
export type ResolvedUserVerification =
  /** The OS collects the key's own PIN (Windows' WebAuthn dialog); UV is required of the key. */
  | 'authenticator'
  /** Electron draws no PIN UI (Linux, macOS): key presence, then the agent's own PIN. */
  | 'agent-pin';

export const badgeReaderSchema = z.strictObject({
  /** Longest pause between two keys of one reader burst. Readers type at ~5–40 ms per key; people at 100 ms and more. */
  maxKeyGapMs: z.number().int().min(5).max(500).default(60),
  /** Longest whole burst, first key to terminator. */
  maxBurstMs: z.number().int().min(50).max(10_000).default(2500),
  /** Shortest and longest card number, after prefix and suffix are removed. */
  minLength: z.number().int().min(4).max(64).default(4),
  maxLength: z.number().int().min(4).max(64).default(64),
  /** Characters some readers send before and after the number (configured on the reader). */
  prefix: z.string().max(8).regex(/^[\x21-\x7e]*$/, 'printable ASCII only').default(''),
  suffix: z.string().max(8).regex(/^[\x21-\x7e]*$/, 'printable ASCII only').default(''),
  /** The key the reader ends a burst with. */
  terminators: z.array(z.enum(['Enter', 'Tab'])).min(1).max(2).default(['Enter', 'Tab']),
});
export type BadgeReaderPolicy = z.infer<typeof badgeReaderSchema>;

export const pinPolicySchema = z.strictObject({
  minLength: z.number().int().min(4).max(12).default(4),
  maxLength: z.number().int().min(4).max(12).default(8),
  /** Failures (PIN or security key) before the user is locked out. */
  maxFailures: z.number().int().min(3).max(20).default(5),
  lockoutMinutes: z.number().min(1).max(24 * 60).default(15),
});
export type PinPolicy = z.infer<typeof pinPolicySchema>;

export const authPolicySchema = z
  .strictObject({
    /**
     * The origin the agent's pages are served on and the WebAuthn relying party id main
     * verifies against. Chromium allows WebAuthn only on https or http://localhost (never an
     * IP address), so the default is http://localhost served in-process.
     */
    origin: z
      .url({ protocol: /^https?$/, error: 'the pages origin must be an http(s) URL such as http://localhost' })
      .transform((u) => new URL(u).origin)
      .default('http://localhost'),
    rpId: z.string().min(1).max(253).regex(/^[a-z0-9.-]+$/, 'a host name in lower case, e.g. localhost').optional(),
    /** auto: required on Windows (its dialog collects the key PIN), discouraged elsewhere (the agent asks for its own PIN). */
    userVerification: z.enum(USER_VERIFICATION_MODES).default('auto'),
    /** How long the lock page waits for a security key touch. */
    fido2TimeoutSeconds: z.number().int().min(5).max(60).default(30),
    badge: badgeReaderSchema.prefault({}),
    pin: pinPolicySchema.prefault({}),
    /** Directory roles whose holders may enrol and revoke at a workstation. */
    enrollerRoles: z.array(z.string().min(1).max(64)).min(1).max(16).default(['enroller']),
    /**
     * auto: when forwarding.https names a collector, follow its shared directory (enrol once,
     * tap anywhere); off: this workstation's own directory only.
     */
    directorySync: z.enum(['auto', 'off']).default('auto'),
    /** Shown on the locked-out and revoked screens: who a nurse calls. */
    helpDesk: z.string().min(1).max(160).default('Call the IT service desk.'),
  })
  .superRefine((p, ctx) => {
    if (p.pin.minLength > p.pin.maxLength) ctx.addIssue({ code: 'custom', path: ['pin', 'minLength'], message: `must not exceed pin.maxLength (${p.pin.maxLength})` });
    if (p.badge.minLength > p.badge.maxLength) ctx.addIssue({ code: 'custom', path: ['badge', 'minLength'], message: `must not exceed badge.maxLength (${p.badge.maxLength})` });
    const host = new URL(p.origin).hostname;
    const rpId = p.rpId ?? host;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) {
      ctx.addIssue({ code: 'custom', path: ['rpId'], message: `"${rpId}" is not the origin's host (${host}) or a parent domain of it; WebAuthn would refuse every key` });
    }
    if (new URL(p.origin).protocol === 'http:' && host !== 'localhost' && !host.endsWith('.localhost')) {
      ctx.addIssue({ code: 'custom', path: ['origin'], message: 'plain http is allowed only on localhost; browsers refuse WebAuthn elsewhere without https' });
    }
  });
export type AuthPolicy = z.output<typeof authPolicySchema>;

export const DEFAULT_AUTH_POLICY: AuthPolicy = authPolicySchema.parse({});

/** The relying party id main verifies (the origin's host unless policy names a parent domain). */
export function rpIdOf(p: AuthPolicy): string {
  return p.rpId ?? new URL(p.origin).hostname;
}

/** UV per OS: Windows collects the key's PIN itself; elsewhere key presence plus the agent's PIN. */
export function resolveUserVerification(p: AuthPolicy, platform: NodeJS.Platform = process.platform): ResolvedUserVerification {
  if (p.userVerification === 'required') return 'authenticator';
  if (p.userVerification === 'discouraged') return 'agent-pin';
  return platform === 'win32' ? 'authenticator' : 'agent-pin';
}
