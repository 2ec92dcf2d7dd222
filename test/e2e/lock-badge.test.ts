// The lock page in real Chromium, bound to a real Agent: a reader burst signs in, a person
// typing the same digits does not, prefix/suffix readers work, and a flood of keystrokes
// never crashes the page or reaches the agent as a badge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventBody } from '../../main/audit/event';
import { BrowserHarness, chromiumMissing, typeBurst } from '../support/browser-harness';
import { applyPolicy, DANA, PageDriver, secretsInTrail, seed } from '../support/lock-driver';

const skip = chromiumMissing();

describe('lock page: badge reader', { skip: skip ?? false }, () => {
  let h: BrowserHarness;
  before(async () => {
    h = await BrowserHarness.start({ label: 'badge' });
    await seed(h, DANA);
  });
  after(() => h?.stop());

  it('a burst at 5–20 ms per key is a badge: the PIN screen for Dana, then unlocked', async () => {
    for (const gap of [5, 20]) {
      const page = await h.open('lock');
      const d = await PageDriver.on(page);
      await d.waitFor('locked');
      await d.tap(DANA.badge, gap);
      await d.waitFor('pin');
      assert.match(await d.text(), /Enter your PIN, Dana Reyes/);
      await d.click('cancel');
      await d.waitFor('locked');
      await page.close();
    }
    const d = await PageDriver.on(await h.open('lock'));
    await d.waitFor('locked');
    await d.tap(DANA.badge, 12);
    await d.waitFor('pin');
    await d.typePin(DANA.pin);
    await d.waitFor('unlocked');
    assert.deepEqual([h.agent.status().session?.phase, h.agent.status().session?.owner], ['unlocked', DANA.id]);
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await d.waitFor('locked-owner');
    // Within the grace window the badge alone unlocks again.
    await d.tap(DANA.badge, 8);
    await d.waitFor('unlocked');
    await d.page.close();
  });

  it('the same digits typed at 120 ms per key never reach the agent as a badge', async () => {
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    const d = await PageDriver.on(await h.open('lock'));
    await d.waitFor('locked-owner');
    const before = h.count('lock:badge');
    await typeBurst(d.page, d.cdp, DANA.badge, 120, 'Enter');
    await typeBurst(d.page, d.cdp, DANA.badge, 120, 'Tab');
    // A real tap afterwards still works, so the page did not just stop listening.
    await d.tap(DANA.badge, 10);
    await d.waitFor('unlocked');
    assert.equal(h.count('lock:badge') - before, 1, 'only the reader-speed burst was sent');
    await d.page.close();
  });

  it('a reader configured with a prefix and suffix is read; a burst without them is not', async () => {
    await applyPolicy(h, { auth: { badge: { prefix: ';', suffix: '?', terminators: ['Tab'] } } }, () => h.agent.policy().auth.badge.prefix === ';');
    try {
      await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
      const d = await PageDriver.on(await h.open('lock'));
      await d.waitFor('locked-owner');
      const before = h.count('lock:badge');
      await d.tap(DANA.badge, 10, 'Tab');
      await d.tap(`;${DANA.badge}?`, 10, 'Enter');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(h.count('lock:badge'), before, 'no prefix, or the wrong terminator: not a badge');
      await d.tap(`;${DANA.badge}?`, 10, 'Tab');
      await d.waitFor('unlocked');
      assert.equal(h.count('lock:badge'), before + 1);
      await d.page.close();
    } finally {
      await applyPolicy(h, {}, () => h.agent.policy().auth.badge.prefix === '');
    }
  });

  it('10,000 random keystrokes at a person’s pace never crash the page or reach the agent as a badge', async () => {
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    const d = await PageDriver.on(await h.open('lock'));
    await d.waitFor('locked-owner');
    const errors: string[] = [];
    d.page.on('pageerror', (e) => errors.push(e.message));
    const before = h.count('lock:badge');
    const keys = [...'0123456789ABCDEFabcdef;?%-=/ ', 'Enter', 'Tab', 'Escape', 'Backspace', 'ArrowLeft', 'ArrowDown', 'Home', 'Shift', 'F5'];
    let seed = 0x2545f491;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let t = Date.now() / 1000;
    for (let i = 0; i < 10_000; i++) {
      const key = keys[Math.floor(random() * keys.length)]!;
      // A person: 70 ms to 1.5 s between keys (never reader speed), in virtual time.
      t += (70 + random() * 1430) / 1000;
      const printable = key.length === 1;
      await d.cdp.send('Input.dispatchKeyEvent', { type: printable ? 'keyDown' : 'rawKeyDown', key, text: printable ? key : undefined, timestamp: t });
    }
    assert.deepEqual(errors, []);
    assert.equal(h.count('lock:badge'), before, 'no keystroke reached the agent as a badge');
    // Still alive and still reading badges.
    await d.page.keyboard.press('Escape');
    await d.waitFor('locked-owner');
    await d.tap(DANA.badge, 10);
    await d.waitFor('unlocked');
    const events = h.agent.store.readAfter(0, 10_000).map((e) => parseEventBody(e.body));
    assert.deepEqual(secretsInTrail(events, [DANA.badge]), [], 'the card number is never in the audit trail');
    await d.page.close();
  });
});
