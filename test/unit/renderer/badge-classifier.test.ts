// The badge classifier tells a reader burst from a person typing, by timing alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ReaderConfig } from '../../../preload/contract';
import { BadgeClassifier, type ClassifierOutput } from '../../../renderer/shared/badge-classifier';

const READER: ReaderConfig = { maxKeyGapMs: 60, maxBurstMs: 2500, minLength: 4, maxLength: 64, prefix: '', suffix: '', terminators: ['Enter', 'Tab'] };

function feedAll(c: BadgeClassifier, keys: readonly string[], gapMs: number | ((i: number) => number), start = 1000): ClassifierOutput[] {
  let t = start;
  return keys.flatMap((k, i) => {
    t += typeof gapMs === 'number' ? gapMs : gapMs(i);
    return c.feed(k, t);
  });
}
const badges = (out: ClassifierOutput[]) => out.filter((o) => o.kind === 'badge');

describe('badge classifier', () => {
  for (const gap of [5, 10, 20, 40]) {
    it(`takes a burst at ${gap} ms per key ending in Enter as a badge`, () => {
      const out = feedAll(new BadgeClassifier(READER), [...'0012345678', 'Enter'], gap);
      assert.deepEqual(badges(out), [{ kind: 'badge', value: '0012345678', burstMs: gap * 10, maxGapMs: gap, retract: 10 }]);
    });
  }

  it('does not take the same digits typed at 120 ms per key as a badge: they are keys', () => {
    const out = feedAll(new BadgeClassifier(READER), [...'0012345678', 'Enter'], 120);
    assert.deepEqual(badges(out), []);
    assert.equal(out.filter((o) => o.kind === 'char').length, 10);
    assert.deepEqual(out.at(-1), { kind: 'key', key: 'Enter' });
  });

  it('refuses a burst with one slow gap, a burst longer than maxBurstMs, and one too short', () => {
    // A pause splits the run: only the fast tail could be a badge, and it is shorter than the reader's numbers here.
    assert.deepEqual(badges(feedAll(new BadgeClassifier({ ...READER, minLength: 8 }), [...'0012345678', 'Enter'], (i) => (i === 5 ? 200 : 10))), [], 'a pause in the middle');
    assert.deepEqual(badges(feedAll(new BadgeClassifier({ ...READER, maxBurstMs: 100 }), [...'0012345678', 'Enter'], 20)), [], 'too long overall');
    assert.deepEqual(badges(feedAll(new BadgeClassifier(READER), [...'123', 'Enter'], 10)), [], 'shorter than minLength');
    assert.deepEqual(badges(feedAll(new BadgeClassifier(READER), [...'0012345678', 'Enter'], (i) => (i === 10 ? 300 : 10))), [], 'a late terminator');
  });

  it('honours the reader prefix and suffix, and Tab as terminator', () => {
    const c = new BadgeClassifier({ ...READER, prefix: ';', suffix: '?' });
    assert.equal((badges(feedAll(c, [...';0012345678?', 'Tab'], 8))[0] as { value: string }).value, '0012345678');
    assert.deepEqual(badges(feedAll(c, [...'0012345678', 'Enter'], 8)), [], 'the prefix is missing');
  });

  it('ignores Shift (readers send upper-case letters with it) and restarts after any other key', () => {
    const c = new BadgeClassifier(READER);
    assert.equal((badges(feedAll(c, ['Shift', 'A', 'B', 'Shift', 'C', '1', '2', 'Enter'], 10))[0] as { value: string }).value, 'ABC12');
    assert.deepEqual(badges(feedAll(c, ['1', '2', 'Backspace', '3', '4', 'Enter'], 10)), [], 'Backspace broke the run');
  });

  it('only terminators in the policy end a burst', () => {
    const c = new BadgeClassifier({ ...READER, terminators: ['Enter'] });
    assert.deepEqual(badges(feedAll(c, [...'0012345678', 'Tab'], 10)), []);
  });

  it('never emits a badge that breaks a threshold, whatever the keys and timings (property)', () => {
    const keyArb = fc.oneof(fc.constantFrom(...'0123456789ABCDEFabcdef;?%'.split('')), fc.constantFrom('Enter', 'Tab', 'Shift', 'Escape', 'Backspace', 'ArrowUp', ' '));
    fc.assert(
      fc.property(fc.array(fc.tuple(keyArb, fc.oneof(fc.integer({ min: 0, max: 90 }), fc.integer({ min: -5, max: 3000 }))), { maxLength: 200 }), (seq) => {
        const cfg = { ...READER, prefix: '', suffix: '' };
        const c = new BadgeClassifier(cfg);
        let t = 0;
        for (const [key, gap] of seq) {
          t += gap;
          for (const o of c.feed(key, t)) {
            if (o.kind !== 'badge') continue;
            assert.ok(o.maxGapMs <= cfg.maxKeyGapMs && o.burstMs <= cfg.maxBurstMs, JSON.stringify(o));
            assert.match(o.value, /^[0-9A-Za-z]{4,64}$/);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never takes typing at human speed (every gap > the threshold) for a badge (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...'0123456789'.split(''), 'Enter', 'Tab'), fc.integer({ min: 61, max: 1500 })), { maxLength: 300 }), (seq) => {
        const c = new BadgeClassifier(READER);
        let t = 0;
        for (const [key, gap] of seq) {
          t += gap;
          assert.deepEqual(badges(c.feed(key, t)), []);
        }
      }),
      { numRuns: 300 },
    );
  });
});
