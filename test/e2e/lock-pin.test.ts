// PIN sign-in in real Chromium with a real Agent: lockout after N wrong PINs that survives
// an agent restart and expires; tap-over ends the owner's session only after the newcomer
// proves who they are, in that order in the audit trail.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventBody, type AuditEvent } from '../../main/audit/event';
import { BrowserHarness, chromiumMissing } from '../support/browser-harness';
import { OffsetClock } from '../support/fake-idle';
import { DANA, eventually, PageDriver, SAM, secretsInTrail, seed } from '../support/lock-driver';

const skip = chromiumMissing();

function events(h: BrowserHarness): AuditEvent[] {
  return h.agent.store.readAfter(0, 100_000).map((e) => parseEventBody(e.body));
}

describe('lock page: PIN, lockout and tap-over', { skip: skip ?? false }, () => {
  let h: BrowserHarness;
  const clock = new OffsetClock();
  before(async () => {
    h = await BrowserHarness.start({ label: 'pin', clock, policy: { auth: { pin: { maxFailures: 3, lockoutMinutes: 10 } } } });
    await seed(h, DANA, SAM);
  });
  after(() => h?.stop());

  it('locks a user out after N wrong PINs; the lockout survives an agent restart and ends after M minutes', async () => {
    const d = await PageDriver.on(await h.open('lock'));
    await d.waitFor('locked');
    await d.tap(SAM.badge);
    await d.waitFor('pin');
    await d.typePin('1593');
    await d.waitFor('pin-wrong');
    assert.match(await d.text(), /Wrong PIN\. 2 tries left/);
    await d.typePin('1594');
    await d.waitForText(/1 try left/);
    await d.typePin('1595');
    await d.waitFor('locked-out');
    assert.match(await d.text(), /Sam Okafor, your account is locked/);
    // Even the right PIN cannot be tried now: the badge alone is refused.
    await d.click('dismiss');
    await d.waitFor('locked');
    await d.tap(SAM.badge);
    await d.waitFor('locked-out');
    // The refusal is in the trail before the agent stops.
    await eventually(() => events(h).some((e) => e.user === SAM.id && e.action === 'auth.badge.failure') || undefined, 'the refused badge in the trail');

    await h.stopAgent();
    await h.startAgent();
    await d.page.reload();
    await d.waitFor('locked');
    await d.tap(SAM.badge);
    await d.waitFor('locked-out');

    clock.offsetMs += 10 * 60_000 + 1_000;
    await d.click('dismiss');
    await d.waitFor('locked');
    await d.tap(SAM.badge);
    await d.waitFor('pin');
    assert.doesNotMatch(await d.text(), /tries left/);
    await d.typePin(SAM.pin);
    await d.waitFor('unlocked');

    const trail = events(h).filter((e) => e.user === SAM.id && /^auth\./.test(e.action));
    const fails = trail.filter((e) => e.action === 'auth.pin.failure');
    assert.deepEqual(fails.map((e) => e.details.triesLeft), [2, 1, 0]);
    const lockout = trail.find((e) => e.action === 'auth.lockout');
    assert.equal(lockout?.outcome, 8);
    assert.equal(lockout?.details.seconds, 600);
    assert.equal(trail.filter((e) => e.action === 'auth.badge.failure' && e.details.kind === 'locked-out').length, 2);
    assert.ok(trail.some((e) => e.action === 'auth.pin.success'));
    assert.deepEqual(secretsInTrail(events(h), [SAM.pin, '1593']), [], 'no PIN in the audit trail');
    await d.page.close();
  });

  it("another user's badge on a locked screen ends the owner's session before theirs starts, and the trail shows both in order", async () => {
    const d = await PageDriver.on(await h.open('lock'));
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await d.waitFor('locked-owner');
    assert.match(await d.text(), /Sam Okafor is signed in/);
    const from = h.agent.store.head().seq;
    await d.tap(DANA.badge);
    await d.waitFor('pin-tap-over');
    assert.match(await d.text(), /Signing in ends Sam Okafor’s session/);
    assert.equal(h.agent.status().session?.owner, SAM.id, 'the tap alone ends nothing');
    await d.typePin(DANA.pin);
    await d.waitFor('unlocked');
    assert.deepEqual([h.agent.status().session?.phase, h.agent.status().session?.owner], ['unlocked', DANA.id]);
    const trail = h.agent.store.readAfter(from, 100).map((e) => parseEventBody(e.body)).map((e) => `${e.action}:${e.user}`);
    assert.deepEqual(trail, [
      `auth.badge.success:${DANA.id}`,
      `auth.pin.success:${DANA.id}`,
      `session.user_switch:${DANA.id}`,
      `session.logoff:${SAM.id}`,
      `session.unlock:${DANA.id}`,
    ]);

    // Sam, inside his grace window, taps over Dana: a confirmation, then the same order.
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await d.waitFor('locked-owner');
    const from2 = h.agent.store.head().seq;
    await d.tap(SAM.badge);
    await d.waitFor('tap-over');
    assert.match(await d.text(), /Continuing ends Dana Reyes’s session/);
    await d.page.keyboard.press('Escape');
    await d.waitFor('locked-owner');
    assert.equal(h.agent.status().session?.owner, DANA.id, 'cancelled: Dana keeps her session');
    await d.tap(SAM.badge);
    await d.waitFor('tap-over');
    await d.click('confirm-switch');
    await d.waitFor('unlocked');
    const trail2 = h.agent.store.readAfter(from2, 100).map((e) => parseEventBody(e.body)).map((e) => `${e.action}:${e.user}`);
    assert.deepEqual(trail2, [
      `auth.badge.success:${SAM.id}`,
      `auth.badge.success:${SAM.id}`,
      `session.user_switch:${SAM.id}`,
      `session.logoff:${DANA.id}`,
      `session.unlock:${SAM.id}`,
    ]);
    await d.page.close();
  });

  it('a revocation takes effect at the next tap, even between the tap and the confirmation', async () => {
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    const d = await PageDriver.on(await h.open('lock'));
    await d.waitFor('locked-owner');
    await d.tap(DANA.badge);
    await d.waitFor('tap-over');
    await h.agent.directoryAdmin('test').revoke({ kind: 'user', userId: DANA.id });
    await d.click('confirm-switch');
    await d.waitFor('revoked-user');
    assert.equal(h.agent.status().session?.owner, SAM.id, "Sam's session is untouched");
    await d.click('dismiss');
    await d.tap(DANA.badge);
    await d.waitFor('revoked-user');
    await d.page.close();
  });
});
