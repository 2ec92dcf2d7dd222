// Renders a screen model (heading, lines, one alert, an optional input, actions, a live
// countdown) as DOM, the same way on every page: re-rendered only when the model changes,
// focus moved to the next step when the screen changes, never markup from data.
import { h } from './dom';
import type { Countdown, ScreenAction, ScreenBase } from './screen-model';

export type { Countdown, ScreenAction, ScreenBase };

export interface ScreenHooks<A extends string, I> {
  /** Builds the input; `same` is true when the screen id did not change (keep typed state). */
  renderInput(input: I, same: boolean): HTMLElement;
  onAction(id: A): void;
  countdownText(c: Countdown, now: number): string;
  /** After a new screen is in the DOM (performance marks, starting a ceremony...). */
  afterRender?(model: ScreenBase<A, I>): void;
}

export class ScreenRenderer<A extends string, I> {
  private shown: ScreenBase<A, I> | null = null;
  private shownKey = '';
  private countdownEl: HTMLElement | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly hooks: ScreenHooks<A, I>,
  ) {
    setInterval(() => this.tick(), 250);
  }

  get current(): ScreenBase<A, I> | null {
    return this.shown;
  }

  render(model: ScreenBase<A, I>, busy: boolean): void {
    this.root.setAttribute('aria-busy', String(busy));
    const key = JSON.stringify({ ...model, countdown: model.countdown ? model.countdown.style : null });
    if (key === this.shownKey) {
      this.tick();
      return;
    }
    const same = this.shown?.id === model.id;
    this.shown = model;
    this.shownKey = key;
    document.body.dataset.tone = model.tone;
    this.root.dataset.screen = model.id;
    const parts: Node[] = [h('h1', { id: 'heading', tabindex: '-1' }, model.heading)];
    if (model.alert) parts.push(h('p', { class: 'alert', role: 'alert' }, model.alert));
    for (const line of model.lines) parts.push(h('p', { class: 'line' }, line));
    this.countdownEl = null;
    if (model.countdown) {
      this.countdownEl = h('p', { class: 'countdown', role: 'timer', 'aria-live': 'off' });
      parts.push(this.countdownEl);
    }
    if (model.input) parts.push(this.hooks.renderInput(model.input, same));
    if (model.actions.length > 0) parts.push(h('div', { class: 'actions' }, ...model.actions.map((a) => this.button(a))));
    if (model.footer.length > 0) parts.push(h('nav', { class: 'footer', 'aria-label': 'Other options' }, ...model.footer.map((a) => this.button(a))));
    // Re-rendering the same screen (an error appeared) keeps what was typed in its fields.
    const typed = same ? [...this.root.querySelectorAll<HTMLInputElement>('input[type="text"][id]')].map((el) => [el.id, el.value] as const) : [];
    this.root.replaceChildren(...parts);
    for (const [id, value] of typed) {
      const el = this.root.querySelector<HTMLInputElement>(`#${CSS.escape(id)}`);
      if (el) el.value = value;
    }
    this.tick();
    if (!same) this.placeFocus();
    performance.mark(`cwa:screen:${model.id}`);
    this.hooks.afterRender?.(model);
  }

  private button(a: ScreenAction<A>): HTMLButtonElement {
    const b = h('button', { type: 'button', class: a.primary ? 'primary' : 'secondary', 'data-action': a.id }, a.label);
    b.addEventListener('click', () => this.hooks.onAction(a.id));
    return b;
  }

  /** The next step gets focus: the first field, the PIN pad, the primary button, else the heading. */
  private placeFocus(): void {
    const target =
      this.root.querySelector<HTMLElement>('[data-autofocus]') ??
      this.root.querySelector<HTMLElement>('button.primary') ??
      this.root.querySelector<HTMLElement>('#heading');
    target?.focus();
  }

  private tick(): void {
    if (this.countdownEl && this.shown?.countdown) this.countdownEl.textContent = this.hooks.countdownText(this.shown.countdown, performance.now());
  }
}
