// The enrol page's screens as plain data (pure, tested under Node): the view main sent
// plus what only the page knows (a request in flight, a key ceremony, the agent silent).
import type { EnrolSubjectSummary, EnrolView, KeyProblem, RevocableEntries, Sequenced } from '../../preload/contract';
import type { Countdown, ScreenAction, ScreenBase } from '../shared/screen-model';
import { possessive } from '../shared/text';

export interface EnrolState {
  readonly view: Sequenced<EnrolView> | null;
  readonly busy: boolean;
  readonly ceremony: { readonly startedAt: number; readonly timeoutMs: number } | null;
  readonly agentError: string | null;
}

export type EnrolEvent =
  | { readonly type: 'view'; readonly view: Sequenced<EnrolView> }
  | { readonly type: 'request' }
  | { readonly type: 'reply' }
  | { readonly type: 'request-failed'; readonly message: string }
  | { readonly type: 'ceremony-start'; readonly at: number; readonly timeoutMs: number }
  | { readonly type: 'ceremony-end' };

export const INITIAL_ENROL: EnrolState = { view: null, busy: false, ceremony: null, agentError: null };

export function reduceEnrol(s: EnrolState, e: EnrolEvent): EnrolState {
  switch (e.type) {
    case 'view':
      if (s.view && e.view.seq < s.view.seq) return s;
      return { ...s, view: e.view, agentError: null };
    case 'request':
      return { ...s, busy: true };
    case 'reply':
      return { ...s, busy: false };
    case 'request-failed':
      return { ...s, busy: false, ceremony: null, agentError: e.message };
    case 'ceremony-start':
      return { ...s, ceremony: { startedAt: e.at, timeoutMs: e.timeoutMs } };
    case 'ceremony-end':
      return { ...s, ceremony: null };
  }
}

export type EnrolActionId =
  | 'exit'
  | 'back'
  | 'retry'
  | 'key-start'
  | 'choose-enrol'
  | 'choose-revoke'
  | 'subject-continue'
  | 'skip'
  | 'register'
  | 'save'
  | 'enrol-another'
  | 'revoke-user'
  | `revoke-badge:${string}`
  | `revoke-key:${string}`;

export type EnrolInput =
  | { readonly kind: 'pin'; readonly label: string; readonly minLength: number; readonly maxLength: number }
  | { readonly kind: 'subject'; readonly task: 'enrol' | 'revoke' }
  | { readonly kind: 'key-label' }
  | { readonly kind: 'summary'; readonly subject: EnrolSubjectSummary }
  | { readonly kind: 'entries'; readonly entries: RevocableEntries };

export type EnrolScreen = ScreenBase<EnrolActionId, EnrolInput>;
type Action = ScreenAction<EnrolActionId>;

const EXIT: Action = { id: 'exit', label: 'Back to the lock screen' };
const MENU: Action = { id: 'back', label: 'Back to the menu' };

function screen(p: Partial<EnrolScreen> & Pick<EnrolScreen, 'id' | 'heading'>): EnrolScreen {
  return { tone: 'calm', lines: [], alert: null, input: null, countdown: null, actions: [], footer: [], ...p };
}

const KEY_PROBLEMS: Record<KeyProblem, string> = {
  'no-key-detected': 'No security key detected. Insert your key and choose Try again.',
  'key-refused': 'That security key was not accepted. Use the key registered to you.',
  'key-revoked': 'That security key has been revoked.',
  cancelled: 'Cancelled. Choose Try again when your key is ready.',
  'not-allowed': 'The security key did not answer. Touch it while its light blinks.',
};

export function enrolScreenOf(s: EnrolState, now: number): EnrolScreen {
  if (s.agentError !== null) {
    return screen({
      id: 'enrol-agent-unreachable',
      tone: 'alert',
      heading: 'The enrolment service is not answering',
      lines: ['Nothing unsaved was kept. Try again in a moment; if it keeps happening, call IT.'],
      actions: [{ id: 'retry', label: 'Try again', primary: true }, EXIT],
    });
  }
  const v = s.view;
  if (v === null) return screen({ id: 'enrol-starting', heading: 'Starting enrolment…' });
  switch (v.screen) {
    case 'enroller-badge':
      return screen({
        id: 'enrol-enroller-badge',
        heading: 'Enrolment: tap your enroller badge',
        lines: ['Only staff with the enroller role can enrol or revoke badges. Everything here is recorded.'],
        alert: v.error,
        actions: [EXIT],
      });
    case 'enroller-factor': {
      const f = v.factor;
      if (f.screen === 'pin') {
        return screen({
          id: f.wrong ? 'enrol-enroller-pin-wrong' : 'enrol-enroller-pin',
          tone: f.wrong ? 'alert' : 'calm',
          heading: f.afterKey ? 'Key accepted. Now enter your PIN' : `Enter your PIN, ${f.user.displayName}`,
          alert: f.wrong ? `Wrong PIN. ${f.triesLeft === 1 ? '1 try' : `${f.triesLeft} tries`} left before the account locks.` : null,
          input: { kind: 'pin', label: 'PIN', minLength: f.minLength, maxLength: f.maxLength },
          actions: [EXIT],
        });
      }
      if (f.problem) {
        return screen({ id: 'enrol-enroller-key-problem', tone: 'attention', heading: 'Security key', lines: [KEY_PROBLEMS[f.problem]], actions: [{ id: 'key-start', label: 'Try again', primary: true }, EXIT] });
      }
      const seconds = s.ceremony ? Math.max(0, Math.ceil((s.ceremony.startedAt + s.ceremony.timeoutMs - now) / 1000)) : Math.ceil(f.timeoutMs / 1000);
      return screen({
        id: 'enrol-enroller-key',
        heading: `Touch your security key, ${f.user.displayName}`,
        lines: ['Insert the key if it is not in, then touch it when it blinks.'],
        countdown: { seconds, from: now, style: 'key' },
        actions: [EXIT],
      });
    }
    case 'menu':
      return screen({
        id: 'enrol-menu',
        heading: `What do you want to do, ${v.enroller.displayName}?`,
        alert: v.message,
        actions: [{ id: 'choose-enrol', label: 'Enrol someone or replace a badge', primary: true }, { id: 'choose-revoke', label: 'Revoke a badge, key or person' }, { id: 'exit', label: 'Finish' }],
      });
    case 'subject':
      return screen({
        id: v.task === 'enrol' ? 'enrol-subject' : 'enrol-revoke-find',
        heading: v.task === 'enrol' ? 'Who are you enrolling?' : 'Whose access are you changing?',
        lines: v.task === 'enrol' ? ['If the person is already enrolled, you can replace their badge, reset their PIN or add a security key.'] : [],
        alert: v.error,
        input: { kind: 'subject', task: v.task },
        actions: [{ id: 'subject-continue', label: 'Continue', primary: true }, MENU],
      });
    case 'subject-badge':
      return screen({
        id: 'enrol-subject-badge',
        heading: `${v.subject.displayName}: tap your new badge`,
        lines: [v.subject.isNew ? 'Hold the badge on the reader until the next screen shows.' : 'Tap a replacement badge, or keep the current one.'],
        alert: v.error,
        actions: v.subject.isNew ? [MENU] : [{ id: 'skip', label: 'Keep the current badge' }, MENU],
      });
    case 'subject-pin':
      return screen({
        id: v.confirm ? 'enrol-subject-pin-confirm' : 'enrol-subject-pin',
        tone: v.error ? 'alert' : 'calm',
        heading: v.confirm ? `${v.subject.displayName}: enter the same PIN again` : `${v.subject.displayName}: choose a PIN`,
        lines: v.confirm ? [] : [`${v.minLength} to ${v.maxLength} digits. Not one digit repeated, not a run like 1234. Only ${v.subject.displayName} should see it.`],
        alert: v.error,
        input: { kind: 'pin', label: v.confirm ? 'Repeat PIN' : 'New PIN', minLength: v.minLength, maxLength: v.maxLength },
        actions: v.subject.isNew ? [MENU] : [{ id: 'skip', label: 'Keep the current PIN' }, MENU],
      });
    case 'subject-key':
      if (s.ceremony) {
        return screen({
          id: 'enrol-subject-key-touch',
          heading: `Touch ${possessive(v.subject.displayName)} security key`,
          lines: ['Insert the key, then touch it when it blinks.'],
          countdown: { seconds: Math.max(0, Math.ceil((s.ceremony.startedAt + s.ceremony.timeoutMs - now) / 1000)), from: now, style: 'key' },
          actions: [],
        });
      }
      return screen({
        id: 'enrol-subject-key',
        heading: 'Register a security key (optional)',
        lines: [`Insert ${possessive(v.subject.displayName)} security key, give it a name you will recognise, and choose Register.`],
        alert: v.error,
        input: { kind: 'key-label' },
        actions: [{ id: 'register', label: 'Register the key', primary: true }, { id: 'skip', label: 'Skip' }],
      });
    case 'review':
      return screen({
        id: 'enrol-review',
        heading: 'Check, then save',
        alert: v.error,
        input: { kind: 'summary', subject: v.subject },
        actions: [{ id: 'save', label: 'Save', primary: true }, { id: 'back', label: 'Discard and go back' }],
      });
    case 'done':
      return screen({
        id: 'enrol-done',
        heading: v.subject.isNew ? `${v.subject.displayName} is enrolled` : `${possessive(v.subject.displayName)} enrolment is updated`,
        lines: ['They can tap in on this workstation now.'],
        input: { kind: 'summary', subject: v.subject },
        actions: [{ id: 'enrol-another', label: 'Enrol someone else', primary: true }, { id: 'exit', label: 'Finish' }],
      });
    case 'revoke':
      return screen({
        id: 'enrol-revoke',
        heading: `${v.entries.displayName} (${v.entries.userId})`,
        lines: v.entries.state === 'revoked' ? ['This person’s access is revoked.'] : ['Revoke a lost badge or key, or all of this person’s access. It stops working at the next tap.'],
        alert: v.message,
        input: { kind: 'entries', entries: v.entries },
        actions: [MENU],
      });
    case 'closed':
      return screen({ id: 'enrol-closed', heading: 'Enrolment ended', lines: v.message ? [v.message] : [], actions: [{ id: 'exit', label: 'Back to the lock screen', primary: true }] });
  }
}

export function countdownText(c: Countdown, now: number): string {
  return `${Math.max(0, c.seconds - Math.floor((now - c.from) / 1000))} s left to touch the key`;
}
