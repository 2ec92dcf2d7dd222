// The session and authentication part of the IT policy: how long a workstation may sit
// idle, what ends a session, which factor re-authentication needs. Built-in profiles give
// each kind of workstation safe values; bounds keep a typo from leaving screens open.
import { isAbsolute, win32 } from 'node:path';
import { z } from 'zod';

export const STRONG_FACTORS = ['pin', 'fido2'] as const;
/** The factor a badge tap needs on top of it outside the grace window. */
export type StrongFactor = (typeof STRONG_FACTORS)[number];

/** What a same-user badge tap on an unlocked screen does. */
export const TAP_OUT_BEHAVIOURS = ['lock', 'logoff', 'off'] as const;
export type TapOutBehaviour = (typeof TAP_OUT_BEHAVIOURS)[number];

const argvItem = z.string().min(1, 'an argument may not be empty').max(1024);

/**
 * How the owner's session ends: the OS logoff for the platform, an IT-supplied program run
 * directly (argv array, never through a shell; argv[0] an absolute path so PATH cannot
 * substitute it), or the agent forgetting its user while the OS session stays.
 */
export const logoffActionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('os-logoff') }),
  z.strictObject({
    kind: z.literal('command'),
    argv: z
      .tuple([argvItem], argvItem)
      .refine((argv) => argv.length <= 32, 'at most 32 arguments')
      .refine((argv) => isAbsolute(argv[0]) || win32.isAbsolute(argv[0]), {
        message: 'argv[0] must be an absolute path to the program (no PATH lookup, no shell)',
        path: [0],
      }),
  }),
  z.strictObject({ kind: z.literal('agent-signout') }),
]);
export type LogoffAction = z.infer<typeof logoffActionSchema>;

/** Every setting a profile fixes; the policy file may override any of them. */
export interface SessionSettings {
  /** Idle seconds after which the warning countdown shows. Must be below lockAfterSeconds. */
  readonly warnAfterSeconds: number;
  /** Idle seconds after which the screen locks. */
  readonly lockAfterSeconds: number;
  /** Seconds locked after which the owner's session ends (logoffAction). */
  readonly logoffAfterSeconds: number;
  /** Hours after a strong authentication in which the badge alone re-authenticates. 0: never. */
  readonly graceHours: number;
  readonly strongFactor: StrongFactor;
  /** Longest break-glass session; extending needs a new reason. */
  readonly emergencyMaxMinutes: number;
  /** Also lock the OS session when the agent locks (for personal OS accounts). */
  readonly osLockOnLock: boolean;
  readonly logoffAction: LogoffAction;
  readonly tapOut: TapOutBehaviour;
}

export const SESSION_PROFILE_NAMES = ['shared-clinical', 'emergency-department', 'back-office'] as const;
export type SessionProfileName = (typeof SESSION_PROFILE_NAMES)[number];

/**
 * Built-in presets, one per kind of workstation. A shared clinical workstation runs one
 * generic OS account, so the agent's overlay is the lock and sign-out is the agent's own.
 */
export const SESSION_PROFILES: Readonly<Record<SessionProfileName, SessionSettings>> = {
  'shared-clinical': {
    warnAfterSeconds: 240,
    lockAfterSeconds: 300,
    logoffAfterSeconds: 30 * 60,
    graceHours: 4,
    strongFactor: 'pin',
    emergencyMaxMinutes: 60,
    osLockOnLock: false,
    logoffAction: { kind: 'agent-signout' },
    tapOut: 'lock',
  },
  // Fast hand-over between clinicians: short lock, quick logoff, a shift-long grace window.
  'emergency-department': {
    warnAfterSeconds: 150,
    lockAfterSeconds: 180,
    logoffAfterSeconds: 15 * 60,
    graceHours: 12,
    strongFactor: 'pin',
    emergencyMaxMinutes: 60,
    osLockOnLock: false,
    logoffAction: { kind: 'agent-signout' },
    tapOut: 'logoff',
  },
  // Personal OS accounts away from patients: the OS locks too and logoff ends the OS session.
  'back-office': {
    warnAfterSeconds: 540,
    lockAfterSeconds: 600,
    logoffAfterSeconds: 4 * 3600,
    graceHours: 8,
    strongFactor: 'fido2',
    emergencyMaxMinutes: 30,
    osLockOnLock: true,
    logoffAction: { kind: 'os-logoff' },
    tapOut: 'lock',
  },
};

export interface SessionBounds {
  readonly lockAfterSeconds: number;
  readonly logoffAfterSeconds: number;
  readonly graceHours: number;
  readonly emergencyMaxMinutes: number;
}

/**
 * Upper bounds. `standard` is what a HIPAA-minded IT department accepts for screens that
 * can show patient data; `extended` needs `allowExtendedTimeouts: true` in the file (and
 * shows in the audit log with the policy hash). Nothing goes beyond `extended`.
 */
export const SESSION_BOUNDS: { readonly standard: SessionBounds; readonly extended: SessionBounds } = {
  standard: { lockAfterSeconds: 15 * 60, logoffAfterSeconds: 4 * 3600, graceHours: 12, emergencyMaxMinutes: 120 },
  extended: { lockAfterSeconds: 60 * 60, logoffAfterSeconds: 24 * 3600, graceHours: 24, emergencyMaxMinutes: 8 * 60 },
};

/** The resolved policy the engine runs on (profile + overrides, bounds checked). */
export interface SessionPolicy extends SessionSettings {
  readonly profile: SessionProfileName;
  readonly allowExtendedTimeouts: boolean;
}

const seconds = (min: number) => z.number().min(min, `must be at least ${min} s`);

// Descriptions for IT (the ADMX/ADML, .mobileconfig and JSON Schema carry them), computed
// from the profiles and bounds above so they cannot drift from the values in force.
const { standard, extended } = SESSION_BOUNDS;
/** `300 on shared-clinical, 180 on emergency-department, …` */
const perProfile = (value: (s: SessionSettings) => string | number) =>
  SESSION_PROFILE_NAMES.map((name) => `${value(SESSION_PROFILES[name])} on ${name}`).join(', ');
const profileSummary = (name: SessionProfileName) => {
  const p = SESSION_PROFILES[name];
  return (
    `${name}: lock after ${p.lockAfterSeconds / 60} min idle (warning ${p.lockAfterSeconds - p.warnAfterSeconds} s before), ` +
    `session ends ${p.logoffAfterSeconds / 60} min after locking (${p.logoffAction.kind}), badge alone unlocks for ${p.graceHours} h ` +
    `after a ${p.strongFactor === 'pin' ? 'PIN' : 'security key'}, own badge tap: ${p.tapOut}${p.osLockOnLock ? ', the OS session locks too' : ''}.`
  );
};
const notSet = (value: (s: SessionSettings) => string | number) => `Not set: the profile's (${perProfile(value)}).`;

const sessionPolicyInputSchema = z
  .strictObject({
    profile: z
      .enum(SESSION_PROFILE_NAMES)
      .default('shared-clinical')
      .meta({
        title: 'Workstation profile',
        description: `The preset for this kind of workstation. ${SESSION_PROFILE_NAMES.map(profileSummary).join(' ')} Any other session setting overrides just that value of the profile.`,
      }),
    allowExtendedTimeouts: z
      .boolean()
      .default(false)
      .meta({
        title: 'Allow longer timeouts',
        description:
          `Raises the limits meant for screens that can show patient data (lock ${standard.lockAfterSeconds} s, end the session ${standard.logoffAfterSeconds} s, ` +
          `badge-only ${standard.graceHours} h, break-glass ${standard.emergencyMaxMinutes} min) to the hard limits (${extended.lockAfterSeconds} s, ` +
          `${extended.logoffAfterSeconds} s, ${extended.graceHours} h, ${extended.emergencyMaxMinutes} min). Leave off wherever patient data can be seen; ` +
          'the audit log records the policy that turned it on.',
      }),
    warnAfterSeconds: seconds(0)
      .optional()
      .meta({
        title: 'Warn after (seconds idle)',
        description:
          'Seconds without keyboard or mouse input before the nurse sees the lock countdown; must be less than lockAfterSeconds. ' +
          `Not set: the profile's lead before the lock (${perProfile((p) => `${p.lockAfterSeconds - p.warnAfterSeconds} s`)}).`,
      }),
    lockAfterSeconds: seconds(1)
      .optional()
      .meta({
        title: 'Lock after (seconds idle)',
        description:
          `Seconds without input after which the screen locks and the nurse taps in again. At most ${standard.lockAfterSeconds} ` +
          `unless allowExtendedTimeouts. ${notSet((p) => p.lockAfterSeconds)}`,
      }),
    logoffAfterSeconds: seconds(1)
      .optional()
      .meta({
        title: 'End the session after (seconds locked)',
        description:
          "Seconds a screen stays locked before the owner's session ends (logoffAction); anything unsaved in it is lost. " +
          `At most ${standard.logoffAfterSeconds} unless allowExtendedTimeouts. ${notSet((p) => p.logoffAfterSeconds)}`,
      }),
    graceHours: z
      .number()
      .min(0, 'must be 0 (always ask for the strong factor) or more')
      .optional()
      .meta({
        title: 'Badge-only unlock (hours)',
        description:
          'Hours after a PIN or security key in which a badge tap alone unlocks; after that the tap also needs strongFactor. 0: every time. ' +
          `At most ${standard.graceHours} unless allowExtendedTimeouts. ${notSet((p) => p.graceHours)}`,
      }),
    strongFactor: z
      .enum(STRONG_FACTORS)
      .optional()
      .meta({
        title: 'Second factor',
        description:
          "What a badge tap needs on top of it outside the badge-only window: pin (the agent's PIN) or fido2 (a security key). " +
          notSet((p) => p.strongFactor),
      }),
    emergencyMaxMinutes: z
      .number()
      .gt(0, 'must be more than 0 minutes')
      .optional()
      .meta({
        title: 'Break-glass limit (minutes)',
        description:
          `Longest break-glass (emergency access) session; carrying on needs a new reason. At most ${standard.emergencyMaxMinutes} ` +
          `unless allowExtendedTimeouts. ${notSet((p) => p.emergencyMaxMinutes)}`,
      }),
    osLockOnLock: z
      .boolean()
      .optional()
      .meta({
        title: 'Also lock the OS session',
        description:
          "Also locks the operating system's session when the agent locks, for workstations with personal OS accounts. " +
          notSet((p) => String(p.osLockOnLock)),
      }),
    logoffAction: logoffActionSchema.optional().meta({
      title: 'How a session ends',
      description:
        'What ending the owner\'s session does: {"kind":"agent-signout"} (the agent forgets the user, the shared OS session stays), ' +
        '{"kind":"os-logoff"} (logs off the OS session) or {"kind":"command","argv":["/absolute/path/to/program","argument"]} ' +
        `(runs that program directly, never through a shell). ${notSet((p) => p.logoffAction.kind)}`,
    }),
    tapOut: z
      .enum(TAP_OUT_BEHAVIOURS)
      .optional()
      .meta({
        title: 'Own badge tap on an unlocked screen',
        description:
          "What the session owner's own badge tap does on an unlocked screen: lock, logoff (ends the session at once) or off (nothing). " +
          notSet((p) => p.tapOut),
      }),
  })
  .meta({
    title: 'Session',
    description:
      'When an idle workstation warns, locks and ends the session, and what unlocking needs. Choose a profile; a setting given here overrides that value of the profile.',
  });

type SessionPolicyInput = z.infer<typeof sessionPolicyInputSchema>;

function resolveProfile(input: SessionPolicyInput): SessionPolicy {
  const preset = SESSION_PROFILES[input.profile];
  const lockAfterSeconds = input.lockAfterSeconds ?? preset.lockAfterSeconds;
  // A file that only moves the lock keeps the profile's warning lead time.
  const warningLead = preset.lockAfterSeconds - preset.warnAfterSeconds;
  return {
    profile: input.profile,
    allowExtendedTimeouts: input.allowExtendedTimeouts,
    warnAfterSeconds: input.warnAfterSeconds ?? Math.max(0, lockAfterSeconds - warningLead),
    lockAfterSeconds,
    logoffAfterSeconds: input.logoffAfterSeconds ?? preset.logoffAfterSeconds,
    graceHours: input.graceHours ?? preset.graceHours,
    strongFactor: input.strongFactor ?? preset.strongFactor,
    emergencyMaxMinutes: input.emergencyMaxMinutes ?? preset.emergencyMaxMinutes,
    osLockOnLock: input.osLockOnLock ?? preset.osLockOnLock,
    logoffAction: input.logoffAction ?? preset.logoffAction,
    tapOut: input.tapOut ?? preset.tapOut,
  };
}

const BOUND_UNITS: Record<keyof SessionBounds, string> = {
  lockAfterSeconds: 's',
  logoffAfterSeconds: 's',
  graceHours: 'h',
  emergencyMaxMinutes: 'min',
};

/**
 * The session section of the policy file. Parses `{}` to the shared-clinical defaults;
 * every issue carries the field's path, so IT sees exactly which line to fix.
 */
export const sessionPolicySchema = sessionPolicyInputSchema.transform(resolveProfile).superRefine((policy, ctx) => {
  const bounds = policy.allowExtendedTimeouts ? SESSION_BOUNDS.extended : SESSION_BOUNDS.standard;
  for (const field of Object.keys(BOUND_UNITS) as (keyof SessionBounds)[]) {
    const limit = bounds[field];
    if (policy[field] <= limit) continue;
    const unit = BOUND_UNITS[field];
    ctx.addIssue({
      code: 'custom',
      path: [field],
      message: policy.allowExtendedTimeouts
        ? `${policy[field]} ${unit} is above the hard limit of ${limit} ${unit}`
        : `${policy[field]} ${unit} is above the limit of ${limit} ${unit} for workstations that can show patient data; ` +
          `set allowExtendedTimeouts: true to allow up to ${SESSION_BOUNDS.extended[field]} ${unit}`,
    });
  }
  if (policy.warnAfterSeconds >= policy.lockAfterSeconds) {
    ctx.addIssue({
      code: 'custom',
      path: ['warnAfterSeconds'],
      params: { related: ['lockAfterSeconds'] },
      message: `must be less than lockAfterSeconds (${policy.lockAfterSeconds} s) so the warning shows before the lock`,
    });
  }
});

export const DEFAULT_SESSION_POLICY: SessionPolicy = sessionPolicySchema.parse({});

/** A profile's values as a full policy (for tests, status and documentation). */
export function sessionPolicyForProfile(profile: SessionProfileName): SessionPolicy {
  return sessionPolicySchema.parse({ profile });
}
