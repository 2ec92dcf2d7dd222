// FIDO2 at the lock screen, in real Chromium with the CDP virtual authenticator (ctap2, no
// resident keys) and verification in main: registration through the enrol page, sign-in
// with UV required (Windows) and with key presence + the agent PIN (Linux, macOS), and the
// refusals — replay, wrong origin, missing UV, expired challenge, counter rollback, no key —
// each refused and audited.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventBody, type AuditEvent } from '../../main/audit/event';
import { handleRequest } from '../../main/agent-handlers';
import { BrowserHarness, chromiumMissing } from '../support/browser-harness';
import { OffsetClock } from '../support/fake-idle';
import { applyPolicy, copyCredentials, DANA, enrolWithKey, eventually, LEE, PageDriver, seed, type Authenticator } from '../support/lock-driver';

const skip = chromiumMissing();
const WINDOWS = { session: { strongFactor: 'fido2', graceHours: 0 }, auth: { userVerification: 'required', fido2TimeoutSeconds: 5 } };
const LINUX = { session: { strongFactor: 'fido2', graceHours: 0 }, auth: { userVerification: 'discouraged', fido2TimeoutSeconds: 5 } };

/** Runs in the page: navigator.credentials.get with main's challenge, asking for presence only. */
const ASSERT_WITHOUT_UV = `async (o) => {
  const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const b64 = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const cred = await navigator.credentials.get({ publicKey: { challenge: bytes(o.challenge), rpId: o.rpId,
    allowCredentials: o.allowCredentials.map((c) => ({ type: 'public-key', id: bytes(c.id) })), userVerification: 'discouraged', timeout: 5000 } });
  const r = cred.response;
  return { id: cred.id, rawId: b64(cred.rawId), type: 'public-key', response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature) }, clientExtensionResults: {} };
}`;

/** The first event of `action` after `sinceSeq`, once it has been appended. */
function eventAfter(h: BrowserHarness, sinceSeq: number, action: string): Promise<AuditEvent> {
  return eventually(() => fidoEvents(h, sinceSeq).find((e) => e.action === action), `${action} in the audit trail`);
}

function fidoEvents(h: BrowserHarness, sinceSeq: number): AuditEvent[] {
  return h.agent.store
    .readAfter(sinceSeq, 10_000)
    .map((e) => parseEventBody(e.body))
    .filter((e) => e.action.startsWith('auth.fido'));
}

describe('lock page: FIDO2 security keys', { skip: skip ?? false }, () => {
  let h: BrowserHarness;
  let d: PageDriver;
  let key: Authenticator;
  const clock = new OffsetClock();

  before(async () => {
    h = await BrowserHarness.start({ label: 'fido2', clock, platform: 'linux' });
    await seed(h, DANA);
    const page = await h.open('lock');
    key = await h.addAuthenticator(page);
    await enrolWithKey(h, page, DANA, LEE);
    d = await PageDriver.on(page);
    await applyPolicy(h, WINDOWS, () => h.agent.policy().auth.userVerification === 'required');
  });
  after(() => h?.stop());

  async function lockAgain(): Promise<void> {
    if (h.agent.status().session?.phase !== 'locked') await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await handleRequest(h.handlers, 'lock:cancel', {});
    await d.page.goto(`${h.origin}/lock/index.html`);
    await d.waitFor(h.agent.status().session?.owner ? 'locked-owner' : 'locked');
  }

  it('where the OS collects the key PIN (UV required): badge + key unlocks, verified in main, audited as such', async () => {
    await lockAgain();
    const from = h.agent.store.head().seq;
    await d.tap(LEE.badge);
    await d.waitFor('unlocked');
    assert.deepEqual([h.agent.status().session?.phase, h.agent.status().session?.owner], ['unlocked', LEE.id]);
    assert.equal(h.agent.status().auth.userVerification, 'authenticator');
    assert.deepEqual((await eventAfter(h, from, 'auth.fido.success')).details, { userVerification: 'authenticator' });
    const user = (await h.agent.directoryAdmin('test').list()).find((u) => u.id === LEE.id)!;
    assert.ok(user.credentials[0]!.counter > 0, 'the counter is kept');
  });

  it('on Linux and macOS: key presence, then the agent PIN', async () => {
    await applyPolicy(h, LINUX, () => h.agent.policy().auth.userVerification === 'discouraged');
    await lockAgain();
    const from = h.agent.store.head().seq;
    await d.tap(LEE.badge);
    await d.waitFor('pin-after-key');
    assert.match(await d.text(), /Key accepted\. Now enter your PIN/);
    assert.equal(h.agent.status().session?.phase, 'locked', 'the key alone does not unlock');
    await d.typePin(LEE.pin);
    await d.waitFor('unlocked');
    assert.equal(h.agent.status().auth.userVerification, 'agent-pin');
    assert.deepEqual((await eventAfter(h, from, 'auth.fido.success')).details, { userVerification: 'agent-pin' });
    await applyPolicy(h, WINDOWS, () => h.agent.policy().auth.userVerification === 'required');
  });

  it('on Linux and macOS, a key touch does not clear the PIN failures: wrong PINs between touches add up to the lockout', async () => {
    await applyPolicy(h, { ...LINUX, auth: { ...LINUX.auth, pin: { maxFailures: 3 } } }, () => h.agent.policy().auth.pin.maxFailures === 3);
    try {
      await lockAgain();
      await d.tap(LEE.badge);
      await d.waitFor('pin-after-key');
      await d.typePin('1593');
      await d.waitForText(/2 tries left/);
      await d.typePin('1594');
      await d.waitForText(/1 try left/);
      // Start again: tap, touch the key, guess once more.
      await handleRequest(h.handlers, 'lock:cancel', {});
      await lockAgain();
      await d.tap(LEE.badge);
      await d.waitFor('pin-after-key');
      await d.typePin('1595');
      await d.waitFor('locked-out');
    } finally {
      await h.agent.directoryAdmin('test').clearLockout(LEE.id);
      await applyPolicy(h, WINDOWS, () => h.agent.policy().auth.userVerification === 'required' && h.agent.policy().auth.pin.maxFailures !== 3);
    }
  });

  it('refuses a replayed assertion and audits it', async () => {
    await lockAgain();
    let captured: unknown = null;
    h.intercept('lock:fido2-finish', async (payload) => (captured = payload));
    await d.tap(LEE.badge);
    await d.waitFor('unlocked');
    assert.ok(captured);
    await lockAgain();
    await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: key.id, enabled: false });
    try {
      const from = h.agent.store.head().seq;
      await d.tap(LEE.badge);
      await d.waitFor('key-touch');
      const r = await handleRequest(h.handlers, 'lock:fido2-finish', captured);
      assert.ok(r.ok);
      await d.waitFor('key-key-refused');
      assert.equal(h.agent.status().session?.phase, 'locked');
      assert.equal((await eventAfter(h, from, 'auth.fido.failure')).details.kind, 'replayed');
      await d.click('cancel');
    } finally {
      await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: key.id, enabled: true });
    }
  });

  it('refuses an assertion made on another origin and audits it', async () => {
    await lockAgain();
    const other = await h.otherOrigin();
    // Only the page on the other origin shows the lock screen (so only it asks the key).
    await d.page.goto('about:blank');
    const page = await h.open('lock', { origin: other });
    const there = await h.addAuthenticator(page);
    await copyCredentials(key, there);
    const o = await PageDriver.on(page);
    await o.waitFor('locked-owner');
    const from = h.agent.store.head().seq;
    await o.tap(LEE.badge);
    await o.waitFor('key-key-refused');
    assert.equal(h.agent.status().session?.phase, 'locked');
    assert.equal((await eventAfter(h, from, 'auth.fido.failure')).details.kind, 'origin-mismatch');
    await o.click('cancel');
    await page.close();
  });

  it('refuses an assertion without user verification where it is required (a page that asked for less)', async () => {
    await lockAgain();
    // A compromised page on the agent's origin: it takes main's options but asks the key for presence only.
    await d.page.goto('about:blank');
    const page = await h.open('enroll');
    const noUv = await h.addAuthenticator(page, { userVerification: false });
    await copyCredentials(key, noUv);
    try {
      const from = h.agent.store.head().seq;
      const tap = await handleRequest(h.handlers, 'lock:badge', { value: LEE.badge, burstMs: 100, maxGapMs: 10 });
      assert.equal(tap.ok && (tap.reply as { screen: string }).screen, 'fido2');
      const begin = await handleRequest(h.handlers, 'lock:fido2-begin', {});
      const options = begin.ok ? (begin.reply as { options?: { userVerification?: string } }).options : undefined;
      assert.equal(options?.userVerification, 'required', 'main asked for user verification');
      const response: unknown = await page.evaluate(`(${ASSERT_WITHOUT_UV})(${JSON.stringify(options)})`);
      const r = await handleRequest(h.handlers, 'lock:fido2-finish', { response });
      assert.equal(r.ok && (r.reply as { problem?: string }).problem, 'key-refused');
      assert.equal(h.agent.status().session?.phase, 'locked');
      assert.equal((await eventAfter(h, from, 'auth.fido.failure')).details.kind, 'user-verification-missing');
      await handleRequest(h.handlers, 'lock:cancel', {});
    } finally {
      await page.close();
    }
  });

  it('refuses an answer to a challenge that expired (over 60 s) and audits it', async () => {
    await lockAgain();
    h.intercept('lock:fido2-finish', async (payload) => {
      clock.offsetMs += 61_000;
      return payload;
    });
    const from = h.agent.store.head().seq;
    await d.tap(LEE.badge);
    await d.waitFor('key-key-refused');
    assert.equal((await eventAfter(h, from, 'auth.fido.failure')).details.kind, 'challenge-expired');
    await d.click('cancel');
  });

  it('refuses a key whose signature counter went back (a possible clone): audited as an urgent alert', async () => {
    await lockAgain();
    await d.tap(LEE.badge);
    await d.waitFor('unlocked');
    await lockAgain();
    // The same credential on a second key whose counter starts again from zero.
    const { credentials } = await key.cdp.send('WebAuthn.getCredentials', { authenticatorId: key.id });
    assert.ok(credentials[0]!.signCount >= 2);
    await key.cdp.send('WebAuthn.clearCredentials', { authenticatorId: key.id });
    await key.cdp.send('WebAuthn.addCredential', { authenticatorId: key.id, credential: { ...credentials[0]!, signCount: 0 } });
    const from = h.agent.store.head().seq;
    await d.tap(LEE.badge);
    await d.waitFor('key-key-refused');
    assert.equal(h.agent.status().session?.phase, 'locked');
    assert.equal((await eventAfter(h, from, 'auth.fido.failure')).details.kind, 'counter-regressed');
    const alert = await eventAfter(h, from, 'auth.fido.clone_suspected');
    assert.equal(alert.outcome, 8);
    assert.equal(alert.user, LEE.id);
    await d.click('cancel');
    // Put the real counter back for the next test.
    await key.cdp.send('WebAuthn.clearCredentials', { authenticatorId: key.id });
    await key.cdp.send('WebAuthn.addCredential', { authenticatorId: key.id, credential: { ...credentials[0]!, signCount: credentials[0]!.signCount + 100 } });
  });

  it('says "no security key detected" when no key answers before the timeout, and audits it', async () => {
    await lockAgain();
    await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: key.id, enabled: false });
    try {
      const from = h.agent.store.head().seq;
      await d.tap(LEE.badge);
      await d.waitFor('key-touch');
      await d.waitFor('key-no-key-detected', 15_000);
      assert.match(await d.text(), /No security key detected/);
      assert.equal((await eventAfter(h, from, 'auth.fido.failure')).details.kind, 'timeout');
      await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: key.id, enabled: true });
      await d.click('key-start');
      await d.waitFor('unlocked');
    } finally {
      await key.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: key.id, enabled: true });
    }
  });
});
