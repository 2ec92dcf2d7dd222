// The idle warning's corner window (the lock page with ?window=warning) in real Chromium
// with a real Agent: it shows the countdown at its small size without scrolling, "I'm still
// here" keeps the session open for every window, and it reads no badge and starts no key
// ceremony (it never takes focus, so keystrokes there are not a reader's).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WARNING_SIZE } from '../../main/shell/window-layout';
import { BrowserHarness, chromiumMissing } from '../support/browser-harness';
import { applyPolicy, DANA, PageDriver, SAM, seed } from '../support/lock-driver';

const skip = chromiumMissing();

describe('idle warning window', { skip: skip ?? false }, () => {
  let h: BrowserHarness;
  before(async () => {
    h = await BrowserHarness.start({ label: 'warning' });
    await seed(h, DANA, SAM);
  });
  after(() => h?.stop());

  it('counts down in its corner, fits without scrolling, and "I\'m still here" keeps the session', async () => {
    const lock = await PageDriver.on(await h.open('lock'));
    await lock.waitFor('locked');
    await lock.tap(DANA.badge);
    await lock.waitFor('pin');
    await lock.typePin(DANA.pin);
    await lock.waitFor('unlocked');

    const corner = await PageDriver.on(await h.open('lock', { query: { window: 'warning' }, viewport: WARNING_SIZE }));
    assert.equal(await corner.page.evaluate('document.body.dataset.window'), 'warning');
    await applyPolicy(h, { session: { warnAfterSeconds: 1, lockAfterSeconds: 600 } }, () => h.agent.policy().session.warnAfterSeconds === 1);
    await corner.waitFor('warning');
    await corner.waitForText(/Still there, Dana Reyes\?/);
    const fits = (await corner.page.evaluate('document.documentElement.scrollHeight <= window.innerHeight && document.documentElement.scrollWidth <= window.innerWidth')) as boolean;
    assert.ok(fits, 'the warning scrolls in its window');
    assert.match(await corner.text(), /Locks in \d+/);

    // Keystrokes in the corner window are not read as a badge.
    const badges = h.count('lock:badge');
    await corner.tap(SAM.badge);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(h.count('lock:badge'), badges);

    await corner.click('still-here');
    await applyPolicy(h, {}, () => h.agent.policy().session.warnAfterSeconds === 240);
    await lock.waitFor('unlocked');
    assert.equal(h.agent.status().session?.phase, 'unlocked');
    assert.equal(h.agent.status().session?.owner, DANA.id);
  });

  it('shows only the warning: other views leave the corner window as it was', async () => {
    const corner = await PageDriver.on(await h.open('lock', { query: { window: 'warning' }, viewport: WARNING_SIZE }));
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await new Promise((r) => setTimeout(r, 300));
    assert.notEqual(await corner.screen(), 'locked-owner');
    assert.equal(h.count('lock:fido2-begin'), 0);
  });
});
