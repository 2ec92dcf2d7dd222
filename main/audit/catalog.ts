// The audit event catalog: every action the agent records, with its DICOM (PS3.15 A.5 /
// RFC 3881) EventID, EventTypeCode(s), EventActionCode and default outcome. The ATNA
// formatter, the forwarder's urgency rule and the session engine all read this one table.

/** DICOM / RFC 3881 EventOutcomeIndicator: 0 success, 4 minor, 8 serious, 12 major failure. */
export type Outcome = 0 | 4 | 8 | 12;
export const OUTCOMES: readonly Outcome[] = [0, 4, 8, 12];

export interface CodedValue {
  readonly code: string;
  /** 'DCM' for DICOM codes; 'CWA' for this agent's own extension codes. */
  readonly codeSystemName: 'DCM' | 'CWA';
  readonly displayName: string;
}

export interface CatalogEntry {
  readonly eventId: CodedValue;
  /** The first DCM code, when present, is the one ATNA consumers key on. */
  readonly eventTypeCodes: readonly CodedValue[];
  /** C create, R read, U update, D delete, E execute. */
  readonly actionCode: 'C' | 'R' | 'U' | 'D' | 'E';
  readonly outcome: Outcome;
  /** Urgent events (break-glass, lockout, tamper/buffer alarms) are forwarded without waiting. */
  readonly urgent: boolean;
  readonly description: string;
}

const dcm = (code: string, displayName: string): CodedValue => ({ code, codeSystemName: 'DCM', displayName });
const cwa = (code: string, displayName: string): CodedValue => ({ code, codeSystemName: 'CWA', displayName });

const APPLICATION_ACTIVITY = dcm('110100', 'Application Activity');
const AUDIT_LOG_USED = dcm('110101', 'Audit Log Used');
const SECURITY_ALERT = dcm('110113', 'Security Alert');
const USER_AUTHENTICATION = dcm('110114', 'User Authentication');

const LOGIN = dcm('110122', 'Login');
const LOGOUT = dcm('110123', 'Logout');
const APPLICATION_START = dcm('110120', 'Application Start');
const APPLICATION_STOP = dcm('110121', 'Application Stop');
const EMERGENCY_OVERRIDE_STARTED = dcm('110127', 'Emergency Override Started');
const EMERGENCY_OVERRIDE_STOPPED = dcm('110138', 'Emergency Override Stopped');
const SECURITY_CONFIGURATION = dcm('110129', 'Security Configuration');
const AUDIT_RECORDING_STOPPED = dcm('110133', 'Audit Recording Stopped');
const AUDIT_RECORDING_STARTED = dcm('110134', 'Audit Recording Started');
const USER_SECURITY_ATTRIBUTES_CHANGED = dcm('110137', 'User Security Attributes Changed');
const NODE_AUTHENTICATION = dcm('110126', 'Node Authentication');

const entry = (
  eventId: CodedValue,
  eventTypeCodes: readonly CodedValue[],
  description: string,
  opts: { actionCode?: CatalogEntry['actionCode']; outcome?: Outcome; urgent?: boolean } = {},
): CatalogEntry => ({
  eventId,
  eventTypeCodes,
  actionCode: opts.actionCode ?? 'E',
  outcome: opts.outcome ?? 0,
  urgent: opts.urgent ?? false,
  description,
});

export const CATALOG = {
  // Agent lifecycle
  'agent.start': entry(APPLICATION_ACTIVITY, [APPLICATION_START], 'The agent started.'),
  'agent.stop': entry(APPLICATION_ACTIVITY, [APPLICATION_STOP], 'The agent stopped.'),

  // Session (see main/session): every transition of the engine
  'session.unlock': entry(USER_AUTHENTICATION, [LOGIN, cwa('session-unlock', 'Session unlocked')], 'A user unlocked (or started) a session.'),
  'session.warning': entry(USER_AUTHENTICATION, [cwa('session-idle-warning', 'Idle warning shown')], 'The idle warning countdown was shown.'),
  'session.warning_cancelled': entry(USER_AUTHENTICATION, [cwa('session-idle-warning-cancelled', 'Idle warning cancelled by activity')], 'Activity cancelled the idle warning.'),
  'session.lock': entry(USER_AUTHENTICATION, [LOGOUT, cwa('session-lock', 'Session locked')], 'The session locked (details.reason: idle, manual, suspend, os-lock, resume, tap-out, other-badge, breakglass-ended, breakglass-expired, startup, engine-error, policy, revoked).'),
  'session.logoff': entry(USER_AUTHENTICATION, [LOGOUT, cwa('session-logoff', 'Session logged off')], "The owner's session was ended (details.reason, details.action)."),
  'session.tap_out': entry(USER_AUTHENTICATION, [LOGOUT, cwa('session-tap-out', 'Tap-out')], "The owner's own badge locked an unlocked screen."),
  'session.user_switch': entry(USER_AUTHENTICATION, [LOGOUT, cwa('session-user-switch', 'User switch')], "A different user's tap ended the owner's session before theirs began."),
  'session.event_refused': entry(USER_AUTHENTICATION, [cwa('session-event-refused', 'Session event refused')], 'An event was refused in the current session state.', { outcome: 4 }),

  // Authentication
  'auth.badge.success': entry(USER_AUTHENTICATION, [LOGIN, cwa('auth-badge', 'Badge accepted')], 'A badge tap identified an enrolled user.'),
  'auth.badge.failure': entry(USER_AUTHENTICATION, [LOGIN, cwa('auth-badge', 'Badge rejected')], 'A badge tap, or a user ID typed for emergency access (method user-id), was refused (details.kind: unknown-badge, revoked-badge, revoked-user, locked-out, not-enroller, unknown-user; details.purpose). Never the card number, nor an ID no active user has.', { outcome: 4 }),
  'auth.pin.success': entry(USER_AUTHENTICATION, [LOGIN, cwa('auth-pin', 'PIN accepted')], 'The PIN was correct.'),
  'auth.pin.failure': entry(USER_AUTHENTICATION, [LOGIN, cwa('auth-pin', 'PIN rejected')], 'The PIN was rejected (details.kind: wrong-pin, locked-out; details.triesLeft). Never the PIN.', { outcome: 4 }),
  'auth.fido.success': entry(USER_AUTHENTICATION, [LOGIN, cwa('auth-fido2', 'FIDO2 assertion accepted')], 'A FIDO2/WebAuthn assertion verified (details.userVerification: authenticator = the key checked its PIN, agent-pin = key presence + the agent PIN).'),
  'auth.fido.failure': entry(USER_AUTHENTICATION, [LOGIN, cwa('auth-fido2', 'FIDO2 assertion rejected')], 'A FIDO2 assertion failed (details.kind: bad-signature, counter-regressed, unknown-credential, revoked-credential, replayed, challenge-expired, challenge-unknown, origin-mismatch, rp-id-mismatch, user-verification-missing, timeout, cancelled, not-allowed).', { outcome: 4 }),
  'auth.fido.clone_suspected': entry(SECURITY_ALERT, [NODE_AUTHENTICATION, cwa('auth-fido2-clone', 'Security key counter regressed')], "A security key's signature counter did not increase: a cloned key may be in use (details.credential).", { outcome: 8, urgent: true }),
  'auth.lockout': entry(SECURITY_ALERT, [USER_SECURITY_ATTRIBUTES_CHANGED, cwa('auth-lockout', 'User locked out')], 'Too many failures: the user is locked out for details.seconds.', { outcome: 8, urgent: true }),
  'auth.lockout_cleared': entry(SECURITY_ALERT, [USER_SECURITY_ATTRIBUTES_CHANGED, cwa('auth-lockout-cleared', 'Lockout cleared')], 'IT cleared a lockout before it expired (details.subject, details.via).', { actionCode: 'U' }),

  // Break-glass (emergency access)
  'breakglass.start': entry(SECURITY_ALERT, [EMERGENCY_OVERRIDE_STARTED], 'Emergency access started (details.reason, details.expiresInSeconds).', { urgent: true }),
  'breakglass.stop': entry(SECURITY_ALERT, [EMERGENCY_OVERRIDE_STOPPED], 'Emergency access ended by the user.', { urgent: true }),
  'breakglass.expire': entry(SECURITY_ALERT, [EMERGENCY_OVERRIDE_STOPPED, cwa('breakglass-expired', 'Emergency access expired')], 'Emergency access reached its time limit and ended in lock.', { urgent: true }),

  // Enrollment
  // Enrolment: `user` is the enroller (or null for agentctl run by IT), details.subject the person enrolled.
  'enrollment.user_added': entry(SECURITY_ALERT, [USER_SECURITY_ATTRIBUTES_CHANGED], 'A user was enrolled (details.subject, details.roles, details.via).', { actionCode: 'C' }),
  'enrollment.user_removed': entry(SECURITY_ALERT, [USER_SECURITY_ATTRIBUTES_CHANGED], 'A user was revoked: their badges and keys stop working at the next tap (details.subject, details.via).', { actionCode: 'D' }),
  'enrollment.credential_added': entry(SECURITY_ALERT, [USER_SECURITY_ATTRIBUTES_CHANGED], 'A badge, PIN or FIDO2 credential was added or replaced (details.subject, details.kind).', { actionCode: 'C' }),
  'enrollment.credential_removed': entry(SECURITY_ALERT, [USER_SECURITY_ATTRIBUTES_CHANGED], 'A badge or FIDO2 credential was revoked (details.subject, details.kind).', { actionCode: 'D' }),

  // The directory shared with the collector
  'directory.key_installed': entry(SECURITY_ALERT, [SECURITY_CONFIGURATION, cwa('directory-key', 'Organisation directory key installed')], 'The organisation directory key came from the collector (details.keyId, details.previous); the local copy of the directory was refreshed.'),

  // Policy
  'policy.loaded': entry(SECURITY_ALERT, [SECURITY_CONFIGURATION], 'A policy was loaded (details.source, details.hash).'),
  'policy.rejected': entry(SECURITY_ALERT, [SECURITY_CONFIGURATION, cwa('policy-rejected', 'Policy rejected')], 'A policy file was rejected; the previous policy stays (details.errors).', { outcome: 8 }),

  // The audit trail itself
  'audit.recording_started': entry(SECURITY_ALERT, [AUDIT_RECORDING_STARTED], 'Audit recording started (or resumed after a write failure).'),
  'audit.recording_stopped': entry(SECURITY_ALERT, [AUDIT_RECORDING_STOPPED], 'Audit recording stopped (agent shutdown or write failure).', { urgent: true }),
  'audit.buffer_alarm': entry(SECURITY_ALERT, [cwa('audit-buffer-alarm', 'Audit buffer alarm')], 'The local buffer crossed a policy threshold (details.level, details.bytes, details.budget).', { outcome: 4, urgent: true }),
  'audit.continuity_alarm': entry(SECURITY_ALERT, [cwa('audit-continuity-alarm', 'Audit continuity alarm')], 'The audit chain cannot be continued or resent intact (details.reason).', { outcome: 12, urgent: true }),
  'audit.exported': entry(AUDIT_LOG_USED, [cwa('audit-export', 'Audit log exported')], 'Audit events were exported (details.from, details.through).', { actionCode: 'R' }),

  // Device / transport
  'device.tls_failure': entry(SECURITY_ALERT, [NODE_AUTHENTICATION], 'An upstream failed TLS authentication (details.upstream, details.kind).', { outcome: 8 }),
} as const satisfies Record<string, CatalogEntry>;

export type AuditAction = keyof typeof CATALOG;
export const AUDIT_ACTIONS = Object.keys(CATALOG) as AuditAction[];

export function isAuditAction(value: string): value is AuditAction {
  return Object.prototype.hasOwnProperty.call(CATALOG, value);
}

export function catalogEntry(action: AuditAction): CatalogEntry {
  return CATALOG[action];
}
