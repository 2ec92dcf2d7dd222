// The enrol page: an enroller proves who they are, then enrols a person (badge, PIN twice,
// optional security key) or revokes a badge, key or person. Talks only to window.agent;
// "Back to the lock screen" returns to the lock page.
import type { EnrolView, ReaderConfig, RequestOf, Sequenced } from '../../preload/contract';
import { agentApi } from '../shared/agent';
import { pageRequester } from '../shared/page-client';
import { authenticate, cancelCeremony, register } from '../shared/ceremony';
import { h } from '../shared/dom';
import { listenForKeys } from '../shared/keyboard';
import { createPinPad, type PinPad } from '../shared/pin-pad';
import { ScreenRenderer } from '../shared/screen';
import { countdownText, enrolScreenOf, INITIAL_ENROL, reduceEnrol, type EnrolActionId, type EnrolEvent, type EnrolInput, type EnrolState } from './enroll-model';

const api = agentApi();
const root = document.getElementById('app')!;
let state: EnrolState = INITIAL_ENROL;
let pad: PinPad | null = null;
let reader: ReaderConfig | null = null;
let ceremonyForSeq = -1;
/** A ceremony is being started or is running: no second one. */
let ceremonyActive = false;

function dispatch(event: EnrolEvent): void {
  state = reduceEnrol(state, event);
  screens.render(enrolScreenOf(state, performance.now()), state.busy);
}

const request = pageRequester<Sequenced<EnrolView>>(dispatch);

const screens = new ScreenRenderer<EnrolActionId, EnrolInput>(root, {
  renderInput,
  onAction: (id) => void act(id),
  countdownText,
  afterRender: () => maybeStartEnrollerKey(),
});

function field(id: string, label: string, attrs: Record<string, string | number | boolean> = {}): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs }));
}

function renderInput(input: EnrolInput, same: boolean): HTMLElement {
  if (input.kind !== 'pin') pad = null;
  switch (input.kind) {
    case 'pin': {
      if (!same || !pad) pad = createPinPad({ label: input.label, minLength: input.minLength, maxLength: input.maxLength, onSubmit: (pin) => void request('enroll:pin', { pin }), describedBy: 'heading' });
      return pad.element;
    }
    case 'subject':
      return input.task === 'enrol'
        ? h('div', { class: 'reason-form' }, field('subject-id', 'User ID (staff number)', { 'data-autofocus': true, maxlength: 64 }), field('subject-name', 'Name shown on the lock screen', { maxlength: 80 }))
        : h('div', { class: 'reason-form' }, field('subject-id', 'User ID (staff number)', { 'data-autofocus': true, maxlength: 64 }));
    case 'key-label':
      return field('key-label', 'Key name', { value: 'Security key', maxlength: 40 });
    case 'summary': {
      const s = input.subject;
      const rows: [string, string][] = [
        ['Name', s.displayName],
        ['User ID', s.userId],
        ['Badge', s.badge ? (s.isNew ? 'Enrolled' : 'Replaced') : 'Unchanged'],
        ['PIN', s.pin ? 'Set' : 'Unchanged'],
        ['Security key', s.key ?? 'None added'],
      ];
      return h('dl', { class: 'summary' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    }
    case 'entries': {
      const e = input.entries;
      const list = h('ul', { class: 'entries', 'aria-label': `Badges and keys of ${e.displayName}` });
      const item = (label: string, state: string, action: EnrolActionId | null, what: string) => {
        const li = h('li', {}, h('span', {}, `${label} — ${state}`));
        if (action) {
          const b = h('button', { type: 'button', class: 'secondary', 'data-action': action, 'aria-label': `Revoke ${what}` }, 'Revoke');
          b.addEventListener('click', () => void act(action));
          li.append(b);
        }
        return li;
      };
      for (const b of e.badges) list.append(item(`Badge …${b.ref.slice(-4)} (enrolled ${b.createdAt.slice(0, 10)})`, b.state, b.state === 'active' ? `revoke-badge:${b.ref}` : null, `badge ending ${b.ref.slice(-4)}`));
      for (const k of e.keys) list.append(item(`Key “${k.label}” (registered ${k.createdAt.slice(0, 10)})`, k.state, k.state === 'active' ? `revoke-key:${k.id}` : null, `security key ${k.label}`));
      const wrap = h('div', { class: 'reason-form' }, list);
      if (e.state === 'active') {
        const all = h('button', { type: 'button', class: 'secondary', 'data-action': 'revoke-user' }, `Revoke all access for ${e.displayName}`);
        all.addEventListener('click', () => void act('revoke-user'));
        wrap.append(all);
      }
      return wrap;
    }
  }
}

function value(id: string): string {
  return root.querySelector<HTMLInputElement>(`#${id}`)?.value.trim() ?? '';
}

async function act(id: EnrolActionId): Promise<void> {
  if (id.startsWith('revoke-badge:')) {
    await request('enroll:revoke', { kind: 'badge', ref: id.slice('revoke-badge:'.length) });
    return;
  }
  if (id.startsWith('revoke-key:')) {
    await request('enroll:revoke', { kind: 'credential', credentialId: id.slice('revoke-key:'.length) });
    return;
  }
  switch (id) {
    case 'exit':
      if (state.ceremony) cancelCeremony();
      if (state.view?.screen !== 'closed') await request('enroll:exit', {});
      window.location.assign('../lock/index.html');
      return;
    case 'back':
      await request('enroll:back', {});
      return;
    case 'retry':
      await hello();
      return;
    case 'key-start':
      ceremonyForSeq = -1;
      await enrollerKey();
      return;
    case 'choose-enrol':
      await request('enroll:choose', { task: 'enrol' });
      return;
    case 'choose-revoke':
      await request('enroll:choose', { task: 'revoke' });
      return;
    case 'subject-continue': {
      const userId = value('subject-id');
      if (!userId) {
        root.querySelector<HTMLElement>('#subject-id')?.focus();
        return;
      }
      await request('enroll:subject', { userId, displayName: value('subject-name') });
      return;
    }
    case 'skip':
      await request('enroll:skip', {});
      return;
    case 'register':
      await registerKey(value('key-label') || 'Security key');
      return;
    case 'save':
      await request('enroll:save', {});
      return;
    case 'enrol-another':
      await request('enroll:back', {});
      await request('enroll:choose', { task: 'enrol' });
      return;
    case 'revoke-user':
      await request('enroll:revoke', { kind: 'user' });
      return;
  }
}

function maybeStartEnrollerKey(): void {
  const v = state.view;
  if (v?.screen !== 'enroller-factor' || v.factor.screen !== 'fido2' || v.factor.problem !== null || ceremonyActive || ceremonyForSeq === v.seq) return;
  ceremonyForSeq = v.seq;
  void enrollerKey();
}

/** Runs one ceremony at a time: begin (options from main), the key, finish (the response to main). */
async function ceremony<O>(begin: () => Promise<unknown>, run: (options: O, timeoutMs: number) => Promise<unknown>, finish: (outcome: unknown) => Promise<unknown>): Promise<void> {
  if (ceremonyActive) return;
  ceremonyActive = true;
  try {
    const start = (await begin()) as { options?: O; timeoutMs?: number } | null;
    if (!start?.options) return;
    const timeoutMs = start.timeoutMs ?? 30_000;
    dispatch({ type: 'ceremony-start', at: performance.now(), timeoutMs });
    const outcome = await run(start.options, timeoutMs);
    dispatch({ type: 'ceremony-end' });
    await finish(outcome);
  } finally {
    ceremonyActive = false;
  }
}

function enrollerKey(): Promise<void> {
  return ceremony<Parameters<typeof authenticate>[0]>(
    () => request('enroll:fido2-begin', {}),
    authenticate,
    (outcome) => request('enroll:fido2-finish', outcome as RequestOf<'enroll:fido2-finish'>),
  );
}

function registerKey(label: string): Promise<void> {
  return ceremony<Parameters<typeof register>[0]>(
    () => request('enroll:register-begin', {}),
    register,
    (outcome) => {
      const o = outcome as Awaited<ReturnType<typeof register>>;
      return request('enroll:register-finish', ('response' in o ? { response: o.response, label } : o) as RequestOf<'enroll:register-finish'>);
    },
  );
}

async function hello(): Promise<void> {
  const reply = (await request('enroll:hello', {})) as { view: Sequenced<EnrolView>; reader: ReaderConfig } | null;
  if (!reply) return;
  if (reader) {
    dispatch({ type: 'view', view: reply.view });
    return;
  }
  reader = reply.reader;
  listenForKeys(reader, {
    onChar: (char) => pad?.feedChar(char),
    onBadge(burst, retract) {
      pad?.retract(retract);
      void request('enroll:badge', burst);
    },
    onKey(key, event) {
      if (key === 'Backspace' && pad && !(document.activeElement instanceof HTMLInputElement)) {
        event.preventDefault();
        pad.backspace();
      } else if (key === 'Enter' && pad && !(document.activeElement instanceof HTMLButtonElement)) {
        event.preventDefault();
        pad.submit();
      } else if (key === 'Enter' && document.activeElement instanceof HTMLInputElement) {
        event.preventDefault();
        const primary = screens.current?.actions.find((a) => a.primary);
        if (primary) void act(primary.id);
      }
    },
    onBurst: () => undefined,
  });
  // Listening to the keyboard first: a screen that invites a tap is ready for it.
  dispatch({ type: 'view', view: reply.view });
}

api.onEnrolView((view) => {
  if (reader) dispatch({ type: 'view', view });
});
dispatch({ type: 'reply' });
void hello();
