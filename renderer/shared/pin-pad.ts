// The PIN pad: large keys for a gloved finger, the keyboard's digits too, masked dots,
// and a live count for screen readers. The PIN stays inside this closure until submit.
import { h } from './dom';

export interface PinPad {
  readonly element: HTMLElement;
  /** A printable key from the keyboard (digits are taken, anything else ignored). */
  feedChar(char: string): void;
  /** Takes back the last `n` keys fed (a badge burst was typed into the pad). */
  retract(n: number): void;
  backspace(): void;
  submit(): void;
  clear(): void;
  readonly length: number;
}

export function createPinPad(opts: { label: string; minLength: number; maxLength: number; onSubmit: (pin: string) => void; describedBy?: string }): PinPad {
  let digits = '';
  /** For each key fed: whether it became a digit of the PIN (so a retract removes exactly those). */
  const fed: boolean[] = [];
  const dots = h('div', { class: 'pin-dots', 'aria-hidden': 'true' });
  const status = h('output', { class: 'visually-hidden', 'aria-live': 'polite', id: 'pin-status' });
  const display = h('div', { class: 'pin-display', role: 'group', 'aria-label': `${opts.label}: type it, or use the keys below`, tabindex: '0', 'data-autofocus': true, 'aria-describedby': opts.describedBy ?? null }, dots, status);

  const update = () => {
    dots.replaceChildren(...Array.from({ length: Math.max(opts.minLength, digits.length) }, (_, i) => h('span', { class: i < digits.length ? 'dot filled' : 'dot' })));
    status.textContent = digits.length === 0 ? 'No digits entered' : `${digits.length} ${digits.length === 1 ? 'digit' : 'digits'} entered`;
    ok.disabled = digits.length < opts.minLength;
  };
  const add = (d: string): boolean => {
    if (!/^[0-9]$/.test(d) || digits.length >= opts.maxLength) return false;
    digits += d;
    update();
    return true;
  };
  const keys = h('div', { class: 'pin-keys' });
  for (const d of ['1', '2', '3', '4', '5', '6', '7', '8', '9']) {
    keys.append(h('button', { type: 'button', class: 'pin-key', 'data-digit': d }, d));
  }
  const back = h('button', { type: 'button', class: 'pin-key pin-back', 'aria-label': 'Delete last digit' }, '⌫');
  const zero = h('button', { type: 'button', class: 'pin-key', 'data-digit': '0' }, '0');
  const ok = h('button', { type: 'button', class: 'pin-key pin-ok', 'aria-label': 'OK: submit the PIN' }, 'OK');
  keys.append(back, zero, ok);
  keys.addEventListener('click', (e) => {
    const target = (e.target as HTMLElement).closest('button');
    if (!target) return;
    const d = target.getAttribute('data-digit');
    if (d) add(d);
    else if (target === back) pad.backspace();
    else if (target === ok) pad.submit();
  });

  const pad: PinPad = {
    element: h('div', { class: 'pin-pad' }, display, keys),
    feedChar(char) {
      fed.push(add(char));
      if (fed.length > 128) fed.shift();
    },
    retract(n) {
      const taken = fed.splice(Math.max(0, fed.length - n)).filter(Boolean).length;
      digits = digits.slice(0, Math.max(0, digits.length - taken));
      update();
    },
    backspace() {
      digits = digits.slice(0, -1);
      update();
    },
    submit() {
      if (digits.length < opts.minLength) return;
      const pin = digits;
      pad.clear();
      performance.mark('cwa:pin-submit');
      opts.onSubmit(pin);
    },
    clear() {
      digits = '';
      fed.length = 0;
      update();
    },
    get length() {
      return digits.length;
    },
  };
  update();
  return pad;
}
