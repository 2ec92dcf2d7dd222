// Break-glass from the lock screen in real Chromium with a real Agent: who (badge or user
// id), why (reason code + text), the strongest factor the user has; a time-boxed emergency
// session with a banner, extension only with a new reason, and expiry into the lock.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CATALOG } from '../../main/audit/catalog';
import { parseEventBody } from '../../main/audit/event';
import { BrowserHarness, chromiumMissing } from '../support/browser-harness';
import { applyPolicy, DANA, eventually, PageDriver, SAM, seed } from '../support/lock-driver';

const skip = chromiumMissing();

describe('lock page: break-glass', { skip: skip ?? false }, () => {
  let h: BrowserHarness;
  before(async () => {
    // Ten minutes while the test works through the screens (however slowly the machine runs);
    // a shorter limit is applied afterwards, which a running emergency obeys at once.
    h = await BrowserHarness.start({ label: 'breakglass', policy: { session: { emergencyMaxMinutes: 10 } } });
    await seed(h, DANA, SAM);
  });
  after(() => h?.stop());

  it('starts with a badge, a reason and the PIN; shows the time left; extends only with a new reason; expires into the lock', async () => {
    const d = await PageDriver.on(await h.open('lock'));
    await d.waitFor('locked');
    const from = h.agent.store.head().seq;
    await d.click('breakglass');
    await d.waitFor('breakglass-identify');
    await d.tap(SAM.badge);
    await d.waitFor('breakglass-reason');
    assert.match(await d.text(), /Emergency access for Sam Okafor/);
    await d.page.locator('#reason-system-outage').check();
    await d.fill('reason-text', 'EHR sign-in down');
    await d.click('breakglass-continue');
    await d.waitFor('pin-breakglass');
    await d.typePin(SAM.pin);
    await d.waitFor('emergency');
    assert.match(await d.text(), /Emergency access: Sam Okafor/);
    assert.match(await d.text(), /Reason: Sign-in system not working: EHR sign-in down/);
    assert.match(await d.page.locator('.countdown').innerText(), /^(10|9) min left$/);
    const status = h.agent.status();
    assert.equal(status.session?.phase, 'emergency');
    assert.equal(status.auth.emergency?.user, SAM.id);
    assert.ok(Date.parse(status.auth.emergency!.expiresAt) > Date.now());

    // The same reason does not extend it; a new one does.
    await d.click('breakglass-extend-open');
    await d.waitFor('emergency-extend');
    await d.page.locator('#reason-system-outage').check();
    await d.fill('reason-text', 'EHR sign-in down');
    await d.click('breakglass-extend');
    await d.waitForText(/give a new reason/);
    await d.page.locator('#reason-patient-safety').check();
    await d.fill('reason-text', 'medication due now');
    await d.click('breakglass-extend');
    await d.waitFor('emergency');

    // IT shortens the limit to 3 s; time runs out: the screen locks, with Sam as owner.
    await applyPolicy(h, { session: { emergencyMaxMinutes: 0.05 } }, () => h.agent.policy().session.emergencyMaxMinutes === 0.05);
    await d.waitFor('locked-owner', 15_000);
    assert.equal(h.agent.status().session?.phase, 'locked');
    assert.equal(h.agent.status().auth.emergency, null);

    const trail = await eventually(() => {
      const t = h.agent.store.readAfter(from, 1000).map((e) => parseEventBody(e.body));
      return t.some((e) => e.action === 'breakglass.expire') && t;
    }, 'breakglass.expire');
    const bg = trail.filter((e) => e.action.startsWith('breakglass.') || e.action === 'session.event_refused');
    assert.deepEqual(
      bg.map((e) => [e.action, e.user, e.details.extended ?? null]),
      [
        ['breakglass.start', SAM.id, false],
        ['session.event_refused', SAM.id, null],
        ['breakglass.start', SAM.id, true],
        ['breakglass.expire', SAM.id, null],
      ],
    );
    assert.equal(bg[0]?.details.reason, 'Sign-in system not working: EHR sign-in down');
    assert.equal(bg[0]?.details.factor, 'pin');
    assert.equal(CATALOG['breakglass.start'].urgent, true, 'the start wakes the forwarder');
    await applyPolicy(h, { session: { emergencyMaxMinutes: 10 } }, () => h.agent.policy().session.emergencyMaxMinutes === 10);
    await d.page.close();
  });

  it('identifies by user id when the badge is not at hand, refuses an unknown id, and can be ended from the banner', async () => {
    const d = await PageDriver.on(await h.open('lock'));
    await d.waitFor('locked-owner');
    await d.click('breakglass');
    await d.waitFor('breakglass-identify');
    const before = h.agent.store.head().seq;
    await d.fill('user-id', 'no.such.person');
    await d.page.keyboard.press('Enter');
    await d.waitForText(/No active enrolment has that user ID/);
    // The refused lookup is in the trail, without the text typed.
    const refused = await eventually(
      () => h.agent.store.readAfter(before, 50).map((e) => parseEventBody(e.body)).find((e) => e.action === 'auth.badge.failure' && e.method === 'user-id'),
      'the refused user ID in the trail',
    );
    assert.deepEqual([refused.user, refused.details], [null, { kind: 'unknown-user', purpose: 'breakglass' }]);
    assert.ok(!JSON.stringify(refused).includes('no.such.person'));
    await d.fill('user-id', DANA.id);
    await d.click('breakglass-continue');
    await d.waitFor('breakglass-reason');
    await d.click('breakglass-continue');
    await d.waitFor('pin-breakglass');
    await d.typePin(DANA.pin);
    await d.waitFor('emergency');
    // Dana's break-glass ended Sam's locked session first.
    assert.equal(h.agent.status().session?.owner, DANA.id);
    await d.click('breakglass-end');
    await d.waitFor('locked-owner');
    await d.page.close();
  });
});
