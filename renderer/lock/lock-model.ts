// The lock page's state machine and what each state shows, as plain data: the view main
// sent, plus what only the page knows (a badge burst arriving, a request in flight, a key
// touch awaited, the agent not answering). Pure, so every screen's words are tested under
// Node; lock/main.ts turns a ScreenModel into DOM.
import type { KeyProblem, LockView, NoticeKind, Sequenced } from '../../preload/contract';
import type { Countdown, ScreenAction, ScreenBase } from '../shared/screen-model';
import { formatClock, formatDuration, possessive } from '../shared/text';

export interface PageState {
  readonly view: Sequenced<LockView> | null;
  /** A fast key run is arriving: probably a badge reader. */
  readonly reading: boolean;
  /** A request is with the agent. */
  readonly busy: boolean;
  /** The security-key ceremony is running (page clock, ms). */
  readonly ceremony: { readonly startedAt: number; readonly timeoutMs: number } | null;
  /** The agent did not answer a request. */
  readonly agentError: string | null;
  /** The emergency banner's "extend" form is open. */
  readonly extending: boolean;
}

export type PageEvent =
  | { readonly type: 'view'; readonly view: Sequenced<LockView> }
  | { readonly type: 'burst' }
  | { readonly type: 'burst-over' }
  | { readonly type: 'request' }
  | { readonly type: 'reply' }
  | { readonly type: 'request-failed'; readonly message: string }
  | { readonly type: 'ceremony-start'; readonly at: number; readonly timeoutMs: number }
  | { readonly type: 'ceremony-end' }
  | { readonly type: 'extend'; readonly open: boolean };

export const INITIAL: PageState = { view: null, reading: false, busy: false, ceremony: null, agentError: null, extending: false };

export function reduce(s: PageState, e: PageEvent): PageState {
  switch (e.type) {
    case 'view': {
      if (s.view && e.view.seq < s.view.seq) return s;
      const v = e.view;
      return {
        ...s,
        view: v,
        reading: false,
        agentError: null,
        ceremony: v.screen === 'fido2' && v.problem === null ? s.ceremony : null,
        // The extend form stays open only to show why an extension was refused.
        extending: v.screen === 'emergency' && v.error !== null,
      };
    }
    case 'burst':
      return { ...s, reading: true };
    case 'burst-over':
      return { ...s, reading: false };
    case 'request':
      return { ...s, busy: true };
    case 'reply':
      return { ...s, busy: false };
    case 'request-failed':
      return { ...s, busy: false, reading: false, ceremony: null, agentError: e.message };
    case 'ceremony-start':
      return { ...s, ceremony: { startedAt: e.at, timeoutMs: e.timeoutMs } };
    case 'ceremony-end':
      return { ...s, ceremony: null };
    case 'extend':
      return { ...s, extending: e.open };
  }
}

export type ActionId =
  | 'cancel'
  | 'dismiss'
  | 'retry'
  | 'key-start'
  | 'confirm-switch'
  | 'still-here'
  | 'breakglass'
  | 'enrol'
  | 'breakglass-continue'
  | 'breakglass-end'
  | 'breakglass-extend-open'
  | 'breakglass-extend'
  | 'breakglass-extend-close';

export type Action = ScreenAction<ActionId>;

export type Input =
  | { readonly kind: 'pin'; readonly label: string; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'user-id' }
  | { readonly kind: 'reason'; readonly purpose: 'start' | 'extend' };

export type ScreenModel = ScreenBase<ActionId, Input>;

const CANCEL: Action = { id: 'cancel', label: 'Cancel' };

function screen(partial: Partial<ScreenModel> & Pick<ScreenModel, 'id' | 'heading'>): ScreenModel {
  return { tone: 'calm', lines: [], alert: null, input: null, countdown: null, actions: [], footer: [], ...partial };
}

/** What the page shows for a state at page time `now` (ms). */
export function screenOf(s: PageState, now: number): ScreenModel {
  if (s.agentError !== null) {
    return screen({
      id: 'agent-unreachable',
      tone: 'alert',
      heading: 'The sign-in service is not answering',
      lines: ['Wait a moment, then choose Try again or tap your badge.', 'If this keeps happening, call the IT service desk and say “lock screen not answering”.'],
      actions: [{ id: 'retry', label: 'Try again', primary: true }],
    });
  }
  const v = s.view;
  if (v === null) return screen({ id: 'starting', heading: 'Starting…', lines: ['The lock screen is connecting to the agent.'] });
  if (s.reading && (v.screen === 'locked' || v.screen === 'pin' || v.screen === 'notice' || v.screen === 'locked-out')) {
    return screen({ id: 'reading-badge', heading: 'Reading badge…', lines: ['Keep the badge on the reader for a moment.'] });
  }
  switch (v.screen) {
    case 'locked':
      return lockedScreen(v);
    case 'unlocked':
      return screen({ id: 'unlocked', heading: `Signed in: ${v.user.displayName}`, lines: ['This workstation is unlocked.'] });
    case 'tap-over':
      return screen({
        id: 'tap-over',
        tone: 'attention',
        heading: `Sign in as ${v.user.displayName}?`,
        lines: [`${v.owner.displayName} is signed in on this workstation.`],
        alert: `Continuing ends ${possessive(v.owner.displayName)} session. Anything unsaved in it may be lost.`,
        actions: [{ id: 'confirm-switch', label: `Continue as ${v.user.displayName}`, primary: true }, CANCEL],
      });
    case 'pin': {
      const heading = v.afterKey ? 'Key accepted. Now enter your PIN' : v.purpose === 'breakglass' ? 'Enter your PIN to start emergency access' : `Enter your PIN, ${v.user.displayName}`;
      const alert = v.wrong
        ? `Wrong PIN. ${v.triesLeft === 1 ? '1 try' : `${v.triesLeft} tries`} left before the account locks.`
        : v.ends
          ? `Signing in ends ${possessive(v.ends.displayName)} session.`
          : null;
      return screen({
        id: v.wrong ? 'pin-wrong' : v.afterKey ? 'pin-after-key' : v.purpose === 'breakglass' ? 'pin-breakglass' : v.ends ? 'pin-tap-over' : 'pin',
        tone: v.wrong ? 'alert' : v.ends ? 'attention' : 'calm',
        heading,
        lines: v.wrong && v.ends ? [`Signing in ends ${possessive(v.ends.displayName)} session.`] : [],
        alert,
        input: { kind: 'pin', label: 'PIN', minLength: v.minLength, maxLength: v.maxLength },
        actions: [CANCEL],
      });
    }
    case 'fido2':
      return keyScreen(v, s, now);
    case 'locked-out': {
      const minutes = Math.max(1, Math.ceil((Date.parse(v.until) - Date.now()) / 60_000));
      return screen({
        id: 'locked-out',
        tone: 'alert',
        heading: `${v.user.displayName}, your account is locked`,
        lines: ['There were too many wrong PINs or security key attempts.', `You can try again at ${formatClock(v.until)} (in about ${minutes} min).`, `Need in sooner? ${v.helpDesk}`],
        actions: [{ id: 'dismiss', label: 'OK', primary: true }],
      });
    }
    case 'notice':
      return noticeScreen(v.kind, v.helpDesk);
    case 'breakglass':
      return v.step === 'identify'
        ? screen({
            id: 'breakglass-identify',
            tone: 'emergency',
            heading: 'Emergency access',
            lines: ['Use only when patient care cannot wait. Everything you do is recorded and reviewed.', 'Tap your badge, or type your user ID.'],
            alert: v.error,
            input: { kind: 'user-id' },
            actions: [{ id: 'breakglass-continue', label: 'Continue', primary: true }, CANCEL],
          })
        : screen({
            id: 'breakglass-reason',
            tone: 'emergency',
            heading: `Emergency access for ${v.user?.displayName ?? 'you'}`,
            lines: [`Choose the reason. It is sent to the privacy office at once. Access ends after ${v.maxMinutes} minutes.`],
            alert: v.error,
            input: { kind: 'reason', purpose: 'start' },
            actions: [{ id: 'breakglass-continue', label: 'Continue', primary: true }, CANCEL],
          });
    case 'emergency':
      if (s.extending) {
        return screen({
          id: 'emergency-extend',
          tone: 'emergency',
          heading: 'Extend emergency access',
          lines: ['Give the reason you still need emergency access. It must be a new reason.'],
          alert: v.error,
          input: { kind: 'reason', purpose: 'extend' },
          actions: [{ id: 'breakglass-extend', label: 'Extend', primary: true }, { id: 'breakglass-extend-close', label: 'Back' }],
        });
      }
      return screen({
        id: 'emergency',
        tone: 'emergency',
        heading: `Emergency access: ${v.user.displayName}`,
        lines: [`Reason: ${v.reason}`, 'Everything you do is recorded and reviewed.'],
        countdown: { seconds: v.secondsLeft, from: now, style: 'emergency' },
        actions: [{ id: 'breakglass-end', label: 'End emergency access', primary: true }, { id: 'breakglass-extend-open', label: 'Extend…' }],
      });
    case 'warning':
      return screen({
        id: 'warning',
        tone: 'attention',
        heading: `Still there, ${v.user.displayName}?`,
        lines: [v.emergency ? 'Emergency access locks the screen when no one uses it.' : 'No one has used this workstation for a while.'],
        countdown: { seconds: v.secondsLeft, from: now, style: 'lock' },
        actions: [{ id: 'still-here', label: 'I’m still here', primary: true }],
      });
    case 'error':
      return screen({
        id: 'agent-error',
        tone: 'alert',
        heading: 'Sign-in is not available right now',
        lines: [v.message, v.action],
        actions: [{ id: 'dismiss', label: 'Try again', primary: true }],
      });
  }
}

function lockedScreen(v: Extract<LockView, { screen: 'locked' }>): ScreenModel {
  const footer: Action[] = [
    { id: 'breakglass', label: 'Emergency access' },
    { id: 'enrol', label: 'Enrol or manage badges' },
  ];
  if (v.owner) {
    return screen({
      id: 'locked-owner',
      heading: 'Tap your badge to continue',
      lines: [`Locked. ${v.owner.displayName} is signed in.`, `Someone else can tap in too; that ends ${possessive(v.owner.displayName)} session.`],
      footer,
    });
  }
  return screen({
    id: v.directoryEmpty ? 'locked-empty' : 'locked',
    heading: 'Tap your badge to sign in',
    lines: v.directoryEmpty ? ['No one is enrolled on this workstation yet.', 'IT: add the first enroller with “agentctl user add”, then enrol badges here.'] : ['Hold your badge on the reader.'],
    footer,
  });
}

const KEY_PROBLEMS: Record<KeyProblem, { heading: string; lines: string[] }> = {
  'no-key-detected': { heading: 'No security key detected', lines: ['Insert your security key, then choose Try again.'] },
  'key-refused': { heading: 'This security key was not accepted', lines: ['Use the key registered to you, then choose Try again.'] },
  'key-revoked': { heading: 'This security key has been revoked', lines: ['Use your current key, or ask an enroller to register a new one.'] },
  cancelled: { heading: 'Security key check cancelled', lines: ['Choose Try again when your key is ready.'] },
  'not-allowed': {
    heading: 'The security key did not answer',
    lines: ['Touch the key while its light blinks. If it asks for its own PIN, ask IT: this workstation uses your agent PIN instead.'],
  },
};

function keyScreen(v: Extract<LockView, { screen: 'fido2' }>, s: PageState, now: number): ScreenModel {
  const ends = v.ends ? `Signing in ends ${possessive(v.ends.displayName)} session.` : null;
  if (v.problem) {
    const p = KEY_PROBLEMS[v.problem];
    return screen({
      id: `key-${v.problem}`,
      tone: v.problem === 'key-refused' || v.problem === 'key-revoked' ? 'alert' : 'attention',
      heading: p.heading,
      lines: p.lines,
      alert: ends,
      actions: [{ id: 'key-start', label: 'Try again', primary: true }, CANCEL],
    });
  }
  const started = s.ceremony;
  const seconds = started ? Math.max(0, Math.ceil((started.startedAt + started.timeoutMs - now) / 1000)) : Math.ceil(v.timeoutMs / 1000);
  return screen({
    id: 'key-touch',
    tone: ends ? 'attention' : 'calm',
    heading: v.purpose === 'breakglass' ? 'Touch your security key to start emergency access' : `Touch your security key, ${v.user.displayName}`,
    lines: ['Insert the key if it is not in, then touch it when it blinks.'],
    alert: ends,
    countdown: { seconds, from: now, style: 'key' },
    actions: [CANCEL],
  });
}

const NOTICES: Record<NoticeKind, { id: string; heading: string; line: string }> = {
  'unknown-badge': { id: 'unknown-badge', heading: 'This badge is not enrolled', line: 'Ask an enroller on your unit to enrol it, or use another badge.' },
  'revoked-badge': { id: 'revoked-badge', heading: 'This badge has been revoked', line: 'It was reported lost or replaced. Use your current badge.' },
  'revoked-user': { id: 'revoked-user', heading: 'This account cannot sign in', line: 'Access for this account has been revoked.' },
  'no-key-enrolled': { id: 'no-key-enrolled', heading: 'A security key is needed', line: 'This workstation asks for a security key, and none is registered for you. Ask an enroller to register one.' },
  'no-pin-enrolled': { id: 'no-pin-enrolled', heading: 'No PIN is set for you', line: 'Ask an enroller to set your PIN.' },
  'directory-unavailable': { id: 'directory-unavailable', heading: 'Badges cannot be checked right now', line: 'Use another workstation for now.' },
};

function noticeScreen(kind: NoticeKind, helpDesk: string): ScreenModel {
  const n = NOTICES[kind];
  return screen({ id: n.id, tone: 'alert', heading: n.heading, lines: [n.line, helpDesk], actions: [{ id: 'dismiss', label: 'OK', primary: true }] });
}

/** The countdown text at page time `now`. */
export function countdownText(c: Countdown, now: number): string {
  const left = Math.max(0, c.seconds - Math.floor((now - c.from) / 1000));
  switch (c.style) {
    case 'lock':
      return left < 120 ? `Locks in ${left} s` : `Locks in ${formatDuration(left)}`;
    case 'key':
      return `${left} s left to touch the key`;
    case 'emergency':
      return `${formatDuration(left)} left`;
  }
}
