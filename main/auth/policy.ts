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

const PRINTABLE = /^[\x21-\x7e]*$/;

export const badgeReaderSchema = z
  .strictObject({
    maxKeyGapMs: z
      .number()
      .int()
      .min(5)
      .max(500)
      .default(60)
      .meta({
        title: 'Longest pause between keys (ms)',
        description:
          'Longest pause between two keys of one badge read. Readers type a key every 5-40 ms, people every 100 ms or slower; ' +
          'set it too high and fast typing can pass for a badge.',
      }),
    maxBurstMs: z
      .number()
      .int()
      .min(50)
      .max(10_000)
      .default(2500)
      .meta({ title: 'Longest badge read (ms)', description: 'Longest whole badge read, first key to the terminator key; anything slower is taken as typing.' }),
    minLength: z
      .number()
      .int()
      .min(4)
      .max(64)
      .default(4)
      .meta({
        title: 'Shortest card number',
        description: 'Fewest characters in a card number, after the prefix and suffix are removed; a shorter read is not taken as a badge. Not more than maxLength.',
      }),
    maxLength: z
      .number()
      .int()
      .min(4)
      .max(64)
      .default(64)
      .meta({ title: 'Longest card number', description: 'Most characters in a card number, after the prefix and suffix are removed; a longer read is not taken as a badge.' }),
    prefix: z
      .string()
      .max(8)
      .regex(PRINTABLE, 'printable ASCII only')
      .default('')
      .meta({
        title: 'Reader prefix',
        description: 'Characters the reader is configured to send before the card number (printable ASCII, no spaces); removed before the number is matched. Empty: none.',
      }),
    suffix: z
      .string()
      .max(8)
      .regex(PRINTABLE, 'printable ASCII only')
      .default('')
      .meta({
        title: 'Reader suffix',
        description: 'Characters the reader is configured to send after the card number (printable ASCII, no spaces); removed before the number is matched. Empty: none.',
      }),
    terminators: z
      .array(z.enum(['Enter', 'Tab']))
      .min(1)
      .max(2)
      .default(['Enter', 'Tab'])
      .meta({ title: 'Terminator keys', description: 'The key or keys the reader ends a badge read with: Enter, Tab, or both.' }),
  })
  .meta({
    title: 'Badge reader',
    description: 'How the lock page tells a badge reader (which types the card number as a fast burst of keys) from a person typing. Match it to how the readers are configured.',
  });
export type BadgeReaderPolicy = z.infer<typeof badgeReaderSchema>;

export const pinPolicySchema = z
  .strictObject({
    minLength: z
      .number()
      .int()
      .min(4)
      .max(12)
      .default(4)
      .meta({ title: 'Shortest PIN', description: "Fewest characters in the agent's PIN, checked when a PIN is set. Not more than maxLength." }),
    maxLength: z
      .number()
      .int()
      .min(4)
      .max(12)
      .default(8)
      .meta({ title: 'Longest PIN', description: "Most characters in the agent's PIN, checked when a PIN is set." }),
    maxFailures: z
      .number()
      .int()
      .min(3)
      .max(20)
      .default(5)
      .meta({
        title: 'Failures before lockout',
        description: 'Wrong PINs or failed security keys since the last success after which the user is locked out for lockoutMinutes.',
      }),
    lockoutMinutes: z
      .number()
      .min(1)
      .max(24 * 60)
      .default(15)
      .meta({
        title: 'Lockout (minutes)',
        description: 'How long a locked-out user cannot unlock with a PIN or security key; the lock screen tells them whom to call (helpDesk). IT can clear a lockout early with agentctl.',
      }),
  })
  .meta({ title: 'PIN', description: "The agent's PIN: its length, and how many failures lock a user out." });
export type PinPolicy = z.infer<typeof pinPolicySchema>;

export const authPolicySchema = z
  .strictObject({
    // Chromium allows WebAuthn only on https or http://localhost (never an IP address),
    // so the default is http://localhost served in-process. (The default sits before the
    // transform so the policy's JSON Schema, which describes the input, states it.)
    origin: z
      .url({ protocol: /^https?$/, error: 'the pages origin must be an http(s) URL such as http://localhost' })
      .default('http://localhost')
      .transform((u) => new URL(u).origin)
      .meta({
        title: 'Pages origin',
        description:
          'The origin the lock and enrolment pages are served on, which is also the origin security keys sign for. http://localhost is ' +
          'served inside the agent; any other host needs https. Security keys are bound to rpId, which follows this host unless set.',
      }),
    rpId: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9.-]+$/, 'a host name in lower case, e.g. localhost')
      .optional()
      .meta({
        title: 'WebAuthn relying party id',
        description:
          "The WebAuthn relying party id security keys are enrolled for: the origin's host or a parent domain of it, in lower case. " +
          "Not set: the origin's host. Changing it after enrolment means every security key is enrolled again.",
      }),
    userVerification: z
      .enum(USER_VERIFICATION_MODES)
      .default('auto')
      .meta({
        title: 'Security key user verification',
        description:
          "How a security key user proves who they are: required (the key's own PIN, collected by the Windows dialog), discouraged (touching the key, " +
          "then the agent's PIN) or auto (required on Windows, discouraged on macOS and Linux, where Electron cannot ask for a key PIN).",
      }),
    fido2TimeoutSeconds: z
      .number()
      .int()
      .min(5)
      .max(60)
      .default(30)
      .meta({ title: 'Security key wait (seconds)', description: 'How long the lock page waits for the security key to be touched before the nurse has to start again.' }),
    badge: badgeReaderSchema.prefault({}),
    pin: pinPolicySchema.prefault({}),
    enrollerRoles: z
      .array(z.string().min(1).max(64))
      .min(1)
      .max(16)
      .default(['enroller'])
      .meta({ title: 'Enroller roles', description: 'Directory roles whose holders may enrol and revoke badges, PINs and security keys at a workstation.' }),
    directorySync: z
      .enum(['auto', 'off'])
      .default('auto')
      .meta({
        title: 'Shared directory',
        description:
          "auto: when forwarding.https names a collector, follow the collector's shared directory, so a nurse enrols once and taps in at any workstation; " +
          "off: this workstation's own enrolments only.",
      }),
    helpDesk: z
      .string()
      .min(1)
      .max(160)
      .default('Call the IT service desk.')
      .meta({
        title: 'Help desk line',
        description: 'The one line a locked-out nurse, or one whose badge was revoked, reads on the lock screen: whom to call, e.g. "Call the IT service desk on extension 4357."',
      }),
  })
  .meta({
    title: 'Sign-in',
    description: 'How nurses sign in at the lock screen: badge reader timing, the PIN and lockout, security keys (WebAuthn), who may enrol, and what a locked-out nurse is told.',
  })
  .superRefine((p, ctx) => {
    if (p.pin.minLength > p.pin.maxLength) ctx.addIssue({ code: 'custom', path: ['pin', 'minLength'], params: { related: ['maxLength'] }, message: `must not exceed pin.maxLength (${p.pin.maxLength})` });
    if (p.badge.minLength > p.badge.maxLength) ctx.addIssue({ code: 'custom', path: ['badge', 'minLength'], params: { related: ['maxLength'] }, message: `must not exceed badge.maxLength (${p.badge.maxLength})` });
    // A malformed origin has its own issue already; parsing it here would throw out of the schema.
    if (!URL.canParse(p.origin)) return;
    const host = new URL(p.origin).hostname;
    const rpId = p.rpId ?? host;
    if (host !== rpId && !host.endsWith(`.${rpId}`)) {
      ctx.addIssue({ code: 'custom', path: ['rpId'], params: { related: ['origin'] }, message: `"${rpId}" is not the origin's host (${host}) or a parent domain of it; WebAuthn would refuse every key` });
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
