// Tells a badge reader from a person typing. Readers are keyboard wedges: they type the
// card number at 5–40 ms per key and end with Enter or Tab; people type at 100 ms and more
// per key. A burst is a badge only when every gap, the whole burst, its length and the
// reader's prefix/suffix fit the policy. Pure and timer-free: time comes from the key
// events (KeyboardEvent.timeStamp), so it is tested under Node and in Chromium alike.
import type { ReaderConfig } from '../../preload/contract';

export type ClassifierOutput =
  /** A printable key, passed on at once (a PIN digit, a letter in a field). */
  | { readonly kind: 'char'; readonly char: string }
  /** A fast run reached three keys: a reader may be typing ("reading badge"). */
  | { readonly kind: 'burst' }
  /**
   * A badge. `retract` is how many of the chars passed on just before belong to the burst:
   * whoever took them (a PIN pad, a text field) must take them back.
   */
  | { readonly kind: 'badge'; readonly value: string; readonly burstMs: number; readonly maxGapMs: number; readonly retract: number }
  /** Any other key (Enter or Tab that ended no badge, Escape, Backspace, arrows...). */
  | { readonly kind: 'key'; readonly key: string };

/** Keys a reader may send around characters (upper-case letters come with Shift). */
const MODIFIERS = new Set(['Shift', 'Control', 'Alt', 'Meta', 'AltGraph', 'CapsLock', 'NumLock', 'Fn']);
const BURST_SIGNAL_AT = 3;

export class BadgeClassifier {
  private chars: string[] = [];
  private first = 0;
  private last = 0;
  private maxGap = 0;
  private readonly value: RegExp;

  constructor(private readonly cfg: ReaderConfig) {
    this.value = new RegExp(`^[0-9A-Za-z]{${cfg.minLength},${cfg.maxLength}}$`);
  }

  /** Feeds one keydown (`key` as KeyboardEvent.key, `t` its timeStamp in ms). */
  feed(key: string, t: number): ClassifierOutput[] {
    if (MODIFIERS.has(key)) return [];
    if (!Number.isFinite(t)) {
      this.reset();
      return isPrintable(key) ? [{ kind: 'char', char: key }] : [{ kind: 'key', key }];
    }
    if (isPrintable(key)) {
      const gap = t - this.last;
      if (this.chars.length === 0 || gap < 0 || gap > this.cfg.maxKeyGapMs || this.chars.length >= this.cfg.maxLength + this.cfg.prefix.length + this.cfg.suffix.length) {
        this.reset();
        this.first = t;
      } else {
        this.maxGap = Math.max(this.maxGap, gap);
      }
      this.chars.push(key);
      this.last = t;
      const out: ClassifierOutput[] = [{ kind: 'char', char: key }];
      if (this.chars.length === BURST_SIGNAL_AT) out.push({ kind: 'burst' });
      return out;
    }
    if ((this.cfg.terminators as readonly string[]).includes(key)) {
      const badge = this.classify(t);
      this.reset();
      return [badge ?? { kind: 'key', key }];
    }
    this.reset();
    return [{ kind: 'key', key }];
  }

  /** The badge the current run makes if it ends at `t`, or null. */
  private classify(t: number): ClassifierOutput | null {
    if (this.chars.length === 0) return null;
    const gap = t - this.last;
    if (gap < 0 || gap > this.cfg.maxKeyGapMs) return null;
    const burstMs = t - this.first;
    if (burstMs > this.cfg.maxBurstMs) return null;
    let text = this.chars.join('');
    const { prefix, suffix } = this.cfg;
    if (prefix) {
      if (!text.startsWith(prefix)) return null;
      text = text.slice(prefix.length);
    }
    if (suffix) {
      if (!text.endsWith(suffix)) return null;
      text = text.slice(0, text.length - suffix.length);
    }
    if (!this.value.test(text)) return null;
    return { kind: 'badge', value: text, burstMs, maxGapMs: Math.max(this.maxGap, gap), retract: this.chars.length };
  }

  private reset(): void {
    this.chars = [];
    this.maxGap = 0;
  }
}

function isPrintable(key: string): boolean {
  return key.length === 1 && key >= '!' && key <= '~';
}
