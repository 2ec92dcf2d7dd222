// The lock page: renders the lock model as DOM, sends badge bursts, PINs and key responses
// to the agent, runs the security-key ceremony with its own timeout and cancel, and keeps
// keyboard focus where the next step is. Talks only to window.agent.
import type { BreakglassReasonCode, LockView, ReaderConfig, RequestOf, Sequenced } from '../../preload/contract';
import { agentApi } from '../shared/agent';
import { pageRequester } from '../shared/page-client';
import { authenticate, cancelCeremony } from '../shared/ceremony';
import { h } from '../shared/dom';
import { listenForKeys } from '../shared/keyboard';
import { createPinPad, type PinPad } from '../shared/pin-pad';
import { ScreenRenderer } from '../shared/screen';
import { countdownText, INITIAL, reduce, screenOf, type ActionId, type Input, type PageEvent, type PageState } from './lock-model';

const api = agentApi();
const root = document.getElementById('app')!;
/**
 * The same page in the small idle-warning window (?window=warning): it shows only the
 * warning, reads no badge (the window does not take focus) and never runs a key ceremony.
 */
const warningWindow = new URLSearchParams(window.location.search).get('window') === 'warning';
if (warningWindow) document.body.dataset.window = 'warning';
let state: PageState = INITIAL;
let pad: PinPad | null = null;
let ceremonyForSeq = -1;
/** A ceremony is being started or is running: no second one (the begin request publishes a fresh key view). */
let ceremonyActive = false;
let reader: ReaderConfig | null = null;

function dispatch(event: PageEvent): void {
  state = reduce(state, event);
  render();
}

const request = pageRequester<Sequenced<LockView>>(dispatch);

// ----------------------------------------------------------------------- rendering

const screens = new ScreenRenderer<ActionId, Input>(root, {
  renderInput,
  onAction: (id) => void act(id),
  countdownText,
  afterRender: () => maybeStartCeremony(),
});

function render(): void {
  if (warningWindow && state.view !== null && state.view.screen !== 'warning') return;
  screens.render(screenOf(state, performance.now()), state.busy);
}

function renderInput(input: Input, same: boolean): HTMLElement {
  switch (input.kind) {
    case 'pin':
      if (!same || !pad) pad = createPinPad({ label: input.label, minLength: input.minLength, maxLength: input.maxLength, onSubmit: (pin) => void request('lock:pin', { pin }), describedBy: 'heading' });
      return pad.element;
    case 'user-id': {
      pad = null;
      const field = h('input', { id: 'user-id', type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-autofocus': true });
      field.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') void act('breakglass-continue');
      });
      return h('div', { class: 'field' }, h('label', { for: 'user-id' }, 'User ID'), field);
    }
    case 'reason':
      pad = null;
      return reasonForm(state.view);
  }
}

function reasonForm(view: Sequenced<LockView> | null): HTMLElement {
  const reasons = view && (view.screen === 'breakglass' || view.screen === 'emergency') ? view.reasons : [];
  const group = h('fieldset', { class: 'reasons' }, h('legend', {}, 'Reason'));
  reasons.forEach((r, i) => {
    const id = `reason-${r.code}`;
    group.append(h('div', { class: 'choice' }, h('input', { type: 'radio', name: 'reason', id, value: r.code, checked: i === 0, 'data-autofocus': i === 0 }), h('label', { for: id }, r.label)));
  });
  const details = h('input', { id: 'reason-text', type: 'text', maxlength: 160, autocomplete: 'off', 'aria-describedby': 'reason-hint' });
  return h(
    'div',
    { class: 'reason-form' },
    group,
    h('div', { class: 'field' }, h('label', { for: 'reason-text' }, 'Details'), h('p', { id: 'reason-hint', class: 'hint' }, 'A few words. No patient names.'), details),
  );
}

function chosenReason(): { code: BreakglassReasonCode; text: string } {
  const checked = root.querySelector<HTMLInputElement>('input[name="reason"]:checked');
  const text = root.querySelector<HTMLInputElement>('#reason-text')?.value ?? '';
  return { code: (checked?.value ?? 'other') as BreakglassReasonCode, text };
}

// ----------------------------------------------------------------------- actions

async function act(id: ActionId): Promise<void> {
  switch (id) {
    case 'cancel':
      if (state.ceremony) cancelCeremony();
      await request('lock:cancel', {});
      return;
    case 'dismiss':
      await request('lock:cancel', {});
      return;
    case 'retry':
      await hello();
      return;
    case 'key-start':
      ceremonyForSeq = -1;
      await runCeremony();
      return;
    case 'confirm-switch':
      await request('lock:confirm-switch', {});
      return;
    case 'still-here':
      await request('lock:still-here', {});
      return;
    case 'breakglass':
      await request('lock:breakglass-begin', {});
      return;
    case 'enrol':
      window.location.assign('../enroll/index.html');
      return;
    case 'breakglass-continue': {
      const v = state.view;
      if (v?.screen === 'breakglass' && v.step === 'identify') {
        const userId = root.querySelector<HTMLInputElement>('#user-id')?.value.trim() ?? '';
        if (userId) await request('lock:breakglass-user', { userId });
        else root.querySelector<HTMLElement>('#user-id')?.focus();
      } else {
        await request('lock:breakglass-reason', chosenReason());
      }
      return;
    }
    case 'breakglass-end':
      await request('lock:breakglass-end', {});
      return;
    case 'breakglass-extend-open':
      dispatch({ type: 'extend', open: true });
      return;
    case 'breakglass-extend-close':
      dispatch({ type: 'extend', open: false });
      return;
    case 'breakglass-extend':
      await request('lock:breakglass-extend', chosenReason());
      return;
  }
}

/** The key screen starts its ceremony by itself, once per view. */
function maybeStartCeremony(): void {
  const v = state.view;
  if (warningWindow) return;
  if (v?.screen !== 'fido2' || v.problem !== null || ceremonyActive || ceremonyForSeq === v.seq) return;
  ceremonyForSeq = v.seq;
  void runCeremony();
}

async function runCeremony(): Promise<void> {
  if (ceremonyActive) return;
  ceremonyActive = true;
  try {
    const start = (await request('lock:fido2-begin', {})) as { options?: unknown; timeoutMs?: number } | null;
    if (!start || !('options' in start) || !start.options) return;
    const timeoutMs = start.timeoutMs ?? 30_000;
    dispatch({ type: 'ceremony-start', at: performance.now(), timeoutMs });
    const outcome = await authenticate(start.options as Parameters<typeof authenticate>[0], timeoutMs);
    dispatch({ type: 'ceremony-end' });
    await request('lock:fido2-finish', outcome as RequestOf<'lock:fido2-finish'>);
  } finally {
    ceremonyActive = false;
  }
}

// ----------------------------------------------------------------------- keyboard

function startKeyboard(config: ReaderConfig): void {
  listenForKeys(config, {
    onChar(char) {
      pad?.feedChar(char);
    },
    onBadge(burst, retract) {
      pad?.retract(retract);
      void request('lock:badge', burst);
    },
    onKey(key, event) {
      if (key === 'Escape') {
        const cancel = screens.current?.actions.find((a) => a.id === 'cancel' || a.id === 'breakglass-extend-close' || a.id === 'dismiss');
        if (cancel) {
          event.preventDefault();
          void act(cancel.id);
        }
      } else if (key === 'Backspace' && pad && !(document.activeElement instanceof HTMLInputElement)) {
        event.preventDefault();
        pad.backspace();
      } else if (key === 'Enter' && pad && !(document.activeElement instanceof HTMLButtonElement)) {
        event.preventDefault();
        pad.submit();
      }
    },
    onBurst(active) {
      dispatch({ type: active ? 'burst' : 'burst-over' });
    },
  });
}

/** Views pushed before the page listens to the keyboard wait: a screen that invites a tap must be ready for it. */
let early: Sequenced<LockView> | null = null;

async function hello(): Promise<void> {
  const reply = (await request('lock:hello', {})) as { view: Sequenced<LockView>; reader: ReaderConfig } | null;
  if (!reply) return;
  if (!reader) {
    reader = reply.reader;
    if (!warningWindow) startKeyboard(reader);
  }
  dispatch({ type: 'view', view: reply.view });
  if (early) dispatch({ type: 'view', view: early });
  early = null;
}

api.onLockView((view) => {
  if (reader) dispatch({ type: 'view', view });
  else early = view;
});
render();
void hello();
