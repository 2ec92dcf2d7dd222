// Wires the badge classifier to the page's keyboard: every keydown is classified first
// (capture phase). Printable keys outside a text field are consumed by the page; a badge
// burst is taken back from wherever its characters went; Enter or Tab that ended a badge
// never reaches a button, while a person's Tab still moves focus.
import type { BadgeBurst, ReaderConfig } from '../../preload/contract';
import { BadgeClassifier } from './badge-classifier';
import { isTextField, retractFromField } from './dom';

export interface KeyHandlers {
  /** A printable key (a PIN digit, when no text field has focus). */
  onChar(char: string): void;
  /** A badge was read; `retract` keys fed to onChar just before belong to it. */
  onBadge(burst: BadgeBurst, retract: number): void;
  /** Any other key (Enter, Escape, Backspace...) that ended no badge. */
  onKey(key: string, event: KeyboardEvent): void;
  /** A fast run started (true) or stopped without a badge (false). */
  onBurst(active: boolean): void;
}

export function listenForKeys(reader: ReaderConfig, handlers: KeyHandlers): () => void {
  const classifier = new BadgeClassifier(reader);
  let typed = '';
  let burstTimer: ReturnType<typeof setTimeout> | null = null;
  const endBurstSoon = () => {
    if (burstTimer) clearTimeout(burstTimer);
    // Long enough to read, short enough that a misread burst does not leave the screen stuck.
    burstTimer = setTimeout(() => handlers.onBurst(false), Math.max(1500, reader.maxKeyGapMs * 4));
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.isComposing || e.ctrlKey || e.altKey || e.metaKey) return;
    const inField = isTextField(document.activeElement);
    for (const out of classifier.feed(e.key, e.timeStamp)) {
      switch (out.kind) {
        case 'char':
          typed = (typed + out.char).slice(-128);
          if (!inField) {
            e.preventDefault();
            handlers.onChar(out.char);
          }
          if (burstTimer) endBurstSoon();
          break;
        case 'burst':
          handlers.onBurst(true);
          endBurstSoon();
          break;
        case 'badge':
          e.preventDefault();
          e.stopPropagation();
          if (burstTimer) clearTimeout(burstTimer);
          burstTimer = null;
          if (inField) retractFromField(out.retract, typed);
          typed = '';
          // When the page handled the terminator (the benchmark's start; the key's own timeStamp may come from the reader's clock).
          performance.mark('cwa:badge-terminator');
          handlers.onBadge({ value: out.value, burstMs: out.burstMs, maxGapMs: out.maxGapMs }, inField ? 0 : out.retract);
          break;
        case 'key':
          handlers.onKey(out.key, e);
          break;
      }
    }
  };
  document.addEventListener('keydown', onKeyDown, { capture: true });
  return () => {
    document.removeEventListener('keydown', onKeyDown, { capture: true });
    if (burstTimer) clearTimeout(burstTimer);
  };
}
