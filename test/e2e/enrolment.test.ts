// Enrolment as IT and an enroller do it, in real Chromium with a real Agent: IT creates the
// first enroller with agentctl on an empty directory; the enroller proves their PIN and
// enrols a nurse (badge, PIN twice) who then taps in; a badge bound to someone else is
// refused; revoking a badge or a person from the workstation takes effect at the next tap;
// every step is audited with enroller and subject, and no secret is ever in the trail.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventBody, type AuditEvent } from '../../main/audit/event';
import { verifyStore } from '../../main/audit/verify-store';
import { runAgentctl } from '../../main/cli/agentctl';
import { BrowserHarness, chromiumMissing } from '../support/browser-harness';
import { DANA, eventually, KIM, PageDriver, proveEnroller, SAM, secretsInTrail, showsSecret, startEnrolment, type TestUser } from '../support/lock-driver';

const skip = chromiumMissing();

describe('enrolment', { skip: skip ?? false }, () => {
  let h: BrowserHarness;
  before(async () => {
    h = await BrowserHarness.start({ label: 'enrol' });
  });
  after(() => h?.stop());

  const trail = (): AuditEvent[] => h.agent.store.readAfter(0, 100_000).map((e) => parseEventBody(e.body));
  const env = () => ({ CWA_DATA_DIR: h.paths.dataDir, CWA_POLICY_FILE: h.paths.policyFile, CWA_KEYCHAIN_SERVICE: h.keyStore.description.replace(/^OS keychain service "|"$/g, ''), CWA_MACHINE_ID: 'harness-enrol' });

  async function agentctl(args: string[], answers: string[] = []): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const queue = [...answers];
    const code = await runAgentctl(args, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env: env(),
      keyStore: h.keyStore,
      ask: async () => {
        const a = queue.shift();
        if (a === undefined) throw new Error('agentctl asked for more than the test answered');
        return a;
      },
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('IT adds the first enroller with agentctl (badge and PIN asked, never in argv); it is audited with the OS account', async () => {
    const page = await h.open('lock');
    const d = await PageDriver.on(page);
    await d.waitFor('locked-empty');
    const weak = await agentctl(['user', 'add', '--id', DANA.id, '--name', DANA.displayName, '--role', 'enroller', '--role', 'clinician'], [DANA.badge, '1234', '1234']);
    assert.equal(weak.code, 2);
    assert.match(weak.err, /not a run such as 1234/);
    const mismatch = await agentctl(['user', 'add', '--id', DANA.id, '--name', DANA.displayName], [DANA.badge, DANA.pin, '9999']);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.err, /two PINs were different; nothing was saved/);
    const ok = await agentctl(['user', 'add', '--id', DANA.id, '--name', DANA.displayName, '--role', 'enroller', '--role', 'clinician'], [DANA.badge, DANA.pin, DANA.pin]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /enrolled dana\.reyes \(Dana Reyes\), roles enroller, clinician/);
    const again = await agentctl(['user', 'add', '--id', DANA.id, '--name', DANA.displayName], [DANA.badge, DANA.pin, DANA.pin]);
    assert.equal(again.code, 2);
    assert.match(again.err, /already enrolled/);
    await page.reload();
    await d.waitFor('locked');

    const list = await agentctl(['user', 'list', '--json']);
    const users = (JSON.parse(list.out) as { users: { id: string; roles: string[]; badges: unknown[] }[] }).users;
    assert.deepEqual(users.map((u) => [u.id, u.roles, u.badges.length]), [[DANA.id, ['enroller', 'clinician'], 1]]);
    assert.ok(!showsSecret(list.out, DANA.badge) && !showsSecret(list.out, DANA.pin), list.out);
    const added = await eventually(() => trail().find((e) => e.action === 'enrollment.user_added' && e.details.subject === DANA.id), 'user_added');
    assert.equal(added.user, null);
    assert.equal(added.details.via, 'agentctl');
    assert.equal(typeof added.details.operator, 'string');
    await page.close();
  });

  const enrolAtWorkstation = (d: PageDriver, subject: TestUser, badge = subject.badge) => startEnrolment(h, d, DANA, subject, badge);

  it('an enroller enrols a nurse at the workstation; the nurse taps in at once; a badge already bound is refused', async () => {
    const d = await PageDriver.on(await h.open('enroll'));
    const from = h.agent.store.head().seq;
    await enrolAtWorkstation(d, KIM, DANA.badge);
    await d.waitForText(/already belongs to someone else/);
    await d.tap(KIM.badge);
    await d.waitFor('enrol-subject-pin');
    await d.typePin('2222');
    await d.waitForText(/not one digit repeated/);
    await d.typePin(KIM.pin);
    await d.waitFor('enrol-subject-pin-confirm');
    await d.typePin('8643');
    await d.waitForText(/two PINs were different/);
    await d.typePin(KIM.pin);
    await d.waitFor('enrol-subject-pin-confirm');
    await d.typePin(KIM.pin);
    await d.waitFor('enrol-subject-key');
    await d.click('skip');
    await d.waitFor('enrol-review');
    assert.equal(await h.agent.directoryAdmin('t').list().then((u) => u.some((x) => x.id === KIM.id)), false, 'nothing is written before Save');
    await d.click('save');
    await d.waitFor('enrol-done');
    assert.match(await d.text(), /Kim Nguyen is enrolled/);
    await d.click('exit');
    await d.page.waitForURL(/\/lock\/index\.html$/);
    await d.waitFor('locked');
    await d.tap(KIM.badge);
    await d.waitFor('pin');
    await d.typePin(KIM.pin);
    await d.waitFor('unlocked');

    const events = await eventually(() => {
      const t = h.agent.store.readAfter(from, 1000).map((e) => parseEventBody(e.body));
      return t.some((e) => e.action === 'session.unlock') && t;
    }, 'the unlock');
    const enrolment = events.filter((e) => e.action.startsWith('enrollment.') && e.details.subject === KIM.id).map((e) => [e.action, e.user, e.details.subject, e.details.kind ?? null]);
    assert.deepEqual(enrolment, [
      ['enrollment.user_added', DANA.id, KIM.id, null],
      ['enrollment.credential_added', DANA.id, KIM.id, 'badge'],
      ['enrollment.credential_added', DANA.id, KIM.id, 'pin'],
    ]);
    assert.ok(events.some((e) => e.action === 'auth.pin.success' && e.user === DANA.id && e.details.purpose === 'enrolment'), "the enroller's own proof is recorded");
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await d.page.close();
  });

  it('only an enroller may enrol: another badge is refused and audited', async () => {
    const admin = h.agent.directoryAdmin('test');
    await admin.addUser(SAM);
    const d = await PageDriver.on(await h.open('enroll'));
    await d.waitFor('enrol-enroller-badge');
    await d.tap(SAM.badge);
    await d.waitForText(/Sam Okafor is not an enroller/);
    await eventually(() => trail().find((e) => e.action === 'auth.badge.failure' && e.user === SAM.id && e.details.kind === 'not-enroller'), 'not-enroller refusal');
    await d.page.close();
  });

  it('a replacement badge revokes the old one; revoking from the workstation takes effect at the next tap', async () => {
    const d = await PageDriver.on(await h.open('enroll'));
    const NEW_BADGE = '0044409999';
    await enrolAtWorkstation(d, KIM, NEW_BADGE);
    await d.waitFor('enrol-subject-pin');
    await d.click('skip');
    await d.waitFor('enrol-subject-key');
    await d.click('skip');
    await d.waitFor('enrol-review');
    assert.match(await d.text(), /Badge\s*Replaced/);
    await d.click('save');
    await d.waitFor('enrol-done');
    await d.click('exit');
    await d.waitFor('locked-owner');
    await d.tap(KIM.badge);
    await d.waitFor('revoked-badge');
    await d.click('dismiss');
    await d.tap(NEW_BADGE);
    await d.waitFor('unlocked');
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });

    // Dana revokes all of Kim's access from the workstation.
    await proveEnroller(h, d, DANA);
    await d.click('choose-revoke');
    await d.waitFor('enrol-revoke-find');
    await d.fill('subject-id', KIM.id);
    await d.click('subject-continue');
    await d.waitFor('enrol-revoke');
    await d.click('revoke-user');
    await d.waitForText(/can no longer sign in/);
    await d.click('back');
    await d.click('exit');
    await d.waitFor('locked-owner');
    await d.tap(NEW_BADGE);
    await d.waitFor('revoked-user');
    const removed = await eventually(() => trail().find((e) => e.action === 'enrollment.user_removed'), 'user_removed');
    assert.deepEqual([removed.user, removed.details.subject], [DANA.id, KIM.id]);
    await d.page.close();
  });

  it('no card number or PIN ever reaches the audit trail, and the chain still verifies with agentctl writing beside the agent', async () => {
    assert.deepEqual(secretsInTrail(trail(), [DANA.badge, DANA.pin, KIM.badge, KIM.pin, SAM.badge, SAM.pin, '0044409999']), [], 'no card number or PIN in the audit trail');
    const unlock = await agentctl(['user', 'unlock', SAM.id]);
    assert.equal(unlock.code, 0, unlock.err);
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await h.agent.store.record({ action: 'audit.recording_started', details: { reason: 'test' } });
    assert.equal(verifyStore(h.agent.store).ok, true);
  });
});
