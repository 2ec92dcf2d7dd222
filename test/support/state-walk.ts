// Walks the real pages, driven by a real Agent, through every screen a nurse, an enroller
// or the help desk can meet, and calls `visit` on each. The same walk feeds
// `npm run screenshots` (a PNG per screen) and the axe-core test (zero violations per
// screen), so what is looked at and what is checked cannot drift apart.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { BrowserHarness } from './browser-harness';
import { WARNING_SIZE } from '../../main/shell/window-layout';
import { applyPolicy, DANA, KIM, LEE, PageDriver, proveEnroller, RAY, SAM, seed, UNKNOWN_BADGE } from './lock-driver';

export type Visit = (screen: string, page: Page) => Promise<void>;

const FIDO2_POLICY = { session: { strongFactor: 'fido2' }, auth: { userVerification: 'discouraged', fido2TimeoutSeconds: 5 } };

async function expectScreen(d: PageDriver, screen: string, visit: Visit, seen: Set<string>): Promise<void> {
  await d.waitFor(screen);
  seen.add(screen);
  await visit(screen, d.page);
}

/**
 * A screen the page leaves on its own after a short real timer (`reading-badge`: the badge
 * reader's burst ends 1.5 s after its last key), then showing `after`. The page's timers of
 * a second or more that start while the screen is reached are held until the visit is
 * done, and then run: on a loaded machine the accessibility check alone can take longer
 * than 1.5 s, and the page would have moved on to another screen (retrying did not help
 * there). Only setTimeout is held; the page's clock and its keys' timestamps stay real
 * (Playwright's fake clock also fakes Event.timeStamp, which the badge classifier reads).
 */
async function expectTransientScreen(d: PageDriver, screen: string, after: string, reach: () => Promise<void>, visit: Visit, seen: Set<string>): Promise<void> {
  await d.page.evaluate(HOLD_LONG_TIMERS);
  let released = 0;
  try {
    await reach();
    await d.waitFor(screen);
    await visit(screen, d.page);
    assert.equal(await d.screen(), screen, `the page left ${screen} during its visit`);
  } finally {
    released = await d.page.evaluate<number>(RELEASE_LONG_TIMERS);
  }
  assert.ok(released >= 1, `a timer of a second or more (the one that ends ${screen}) was held: ${released}`);
  await d.waitFor(after);
  seen.add(screen);
}

/** In the page: setTimeout of 1 s or more only records its callback until RELEASE_LONG_TIMERS. */
const HOLD_LONG_TIMERS = `(() => {
  const realSet = window.setTimeout.bind(window);
  const realClear = window.clearTimeout.bind(window);
  const held = new Map();
  let nextId = 2000000000;
  window.setTimeout = (handler, ms, ...args) => {
    if (typeof handler !== 'function' || !(ms >= 1000)) return realSet(handler, ms, ...args);
    const id = nextId++;
    held.set(id, () => handler(...args));
    return id;
  };
  window.clearTimeout = (id) => {
    if (!held.delete(id)) realClear(id);
  };
  window.__cwaReleaseTimers = () => {
    window.setTimeout = realSet;
    window.clearTimeout = realClear;
    for (const run of held.values()) realSet(run, 0);
    const n = held.size;
    held.clear();
    return n;
  };
})()`;

/** In the page: puts setTimeout back and runs the held callbacks; how many there were. */
const RELEASE_LONG_TIMERS = `window.__cwaReleaseTimers ? window.__cwaReleaseTimers() : 0`;

/** Every lock-page and enrol-page screen, in one run. Returns the screen names visited. */
export async function walkAllScreens(
  visit: Visit,
  opts: { viewport?: { width: number; height: number }; beforeStop?: (h: BrowserHarness) => Promise<void> } = {},
): Promise<string[]> {
  const seen = new Set<string>();
  const h = await BrowserHarness.start({ label: 'walk', ...(opts.viewport ? { viewport: opts.viewport } : {}) });
  try {
    let page = await h.open('lock');
    let d = await PageDriver.on(page);
    await expectScreen(d, 'locked-empty', visit, seen);
    await seed(h, DANA, SAM, RAY);
    await expectScreen(d, 'locked', visit, seen);

    // A partial burst (a reader that never sent its terminator).
    await expectTransientScreen(d, 'reading-badge', 'locked', () => d.tap('00123', 10, null), visit, seen);

    await d.tap(UNKNOWN_BADGE);
    await expectScreen(d, 'unknown-badge', visit, seen);
    await d.click('dismiss');

    await d.tap(DANA.badge);
    await expectScreen(d, 'pin', visit, seen);
    await d.typePin('1357');
    await expectScreen(d, 'pin-wrong', visit, seen);
    await d.typePin(DANA.pin);
    await expectScreen(d, 'unlocked', visit, seen);

    // The idle warning over an open session.
    await applyPolicy(h, { session: { warnAfterSeconds: 1, lockAfterSeconds: 600 } }, () => h.agent.policy().session.warnAfterSeconds === 1);
    await expectScreen(d, 'warning', visit, seen);
    // The same warning in the small corner window shown while a session is open.
    const corner = await PageDriver.on(await h.open('lock', { query: { window: 'warning' }, viewport: WARNING_SIZE }));
    await corner.waitFor('warning');
    seen.add('warning-window');
    await visit('warning-window', corner.page);
    await corner.page.close();
    await d.click('still-here');
    await applyPolicy(h, {}, () => h.agent.policy().session.warnAfterSeconds === 240);
    await d.waitFor('unlocked');

    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await expectScreen(d, 'locked-owner', visit, seen);
    // Sam (no grace) taps over Dana's locked session: PIN, with the warning.
    await d.tap(SAM.badge);
    await expectScreen(d, 'pin-tap-over', visit, seen);
    await d.typePin(SAM.pin);
    await d.waitFor('unlocked');
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    // Dana is within her grace window: a badge alone, but it ends Sam's session, so she confirms.
    await d.tap(DANA.badge);
    await expectScreen(d, 'tap-over', visit, seen);
    await d.click('confirm-switch');
    await d.waitFor('unlocked');
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await d.waitFor('locked-owner');

    // Five wrong PINs lock Ray out.
    await d.tap(RAY.badge);
    for (let i = 0; i < 5; i++) {
      await d.waitFor(i === 0 ? 'pin-tap-over' : 'pin-wrong');
      await d.typePin('1593');
    }
    await expectScreen(d, 'locked-out', visit, seen);
    await d.click('dismiss');

    // Revocations take effect at the next tap.
    const admin = h.agent.directoryAdmin('test');
    const sam = await h.agent.directoryAdmin('test').list().then((us) => us.find((u) => u.id === SAM.id)!);
    await admin.revoke({ kind: 'badge', userId: SAM.id, ref: sam.badges[0]!.ref });
    await d.tap(SAM.badge);
    await expectScreen(d, 'revoked-badge', visit, seen);
    await d.click('dismiss');
    await admin.revoke({ kind: 'user', userId: RAY.id });
    await d.tap(RAY.badge);
    await expectScreen(d, 'revoked-user', visit, seen);
    await d.click('dismiss');

    // Break-glass: identify, reason, PIN, banner, extension, end.
    await d.waitFor('locked-owner');
    await d.click('breakglass');
    await expectScreen(d, 'breakglass-identify', visit, seen);
    await d.fill('user-id', 'nobody.here');
    await d.click('breakglass-continue');
    await d.page.locator('.alert').waitFor();
    await d.fill('user-id', DANA.id);
    await d.click('breakglass-continue');
    await expectScreen(d, 'breakglass-reason', visit, seen);
    await d.fill('reason-text', 'bay 4 deteriorating');
    await d.click('breakglass-continue');
    await expectScreen(d, 'pin-breakglass', visit, seen);
    await d.typePin(DANA.pin);
    await expectScreen(d, 'emergency', visit, seen);
    await d.click('breakglass-extend-open');
    await expectScreen(d, 'emergency-extend', visit, seen);
    await d.fill('reason-text', 'bay 4 deteriorating');
    await d.click('breakglass-extend');
    await d.page.locator('.alert').waitFor();
    await visit('emergency-extend-refused', d.page);
    await d.fill('reason-text', 'second patient now');
    await d.click('breakglass-extend');
    await d.waitFor('emergency');
    await d.click('breakglass-end');
    await d.waitFor('locked-owner');

    // The help desk's status window: all well, then with a problem (a rejected policy file).
    const status = await PageDriver.on(await h.open('status'));
    await expectScreen(status, 'status', visit, seen);
    writeFileSync(h.paths.policyFile, '{"session": {"lockAfterSeconds": "soon"}}');
    await expectScreen(status, 'status-problems', visit, seen);
    h.writePolicy({});
    await status.waitFor('status');
    await status.page.close();

    // The agent does not answer.
    h.unreachable = true;
    await d.tap(DANA.badge);
    await expectScreen(d, 'agent-unreachable', visit, seen);
    h.unreachable = false;
    await d.click('retry');
    await d.waitFor('locked-owner');

    // Enrolment: Dana enrols Lee with a security key (this also walks every enrol screen).
    await page.close();
    page = await h.open('enroll');
    const auth = await h.addAuthenticator(page);
    d = await PageDriver.on(page);
    await expectScreen(d, 'enrol-enroller-badge', visit, seen);
    await d.tap(SAM.badge);
    await d.page.locator('.alert').waitFor();
    await visit('enrol-enroller-badge-refused', d.page);
    await d.tap(DANA.badge);
    await expectScreen(d, 'enrol-enroller-pin', visit, seen);
    await d.typePin('1111');
    await expectScreen(d, 'enrol-enroller-pin-wrong', visit, seen);
    await d.typePin(DANA.pin);
    await expectScreen(d, 'enrol-menu', visit, seen);
    await d.click('choose-enrol');
    await expectScreen(d, 'enrol-subject', visit, seen);
    await d.fill('subject-id', LEE.id);
    await d.fill('subject-name', LEE.displayName);
    await d.click('subject-continue');
    await expectScreen(d, 'enrol-subject-badge', visit, seen);
    await d.tap(DANA.badge);
    await d.page.locator('.alert').waitFor();
    await visit('enrol-subject-badge-taken', d.page);
    await d.tap(LEE.badge);
    await expectScreen(d, 'enrol-subject-pin', visit, seen);
    await d.typePin(LEE.pin);
    await expectScreen(d, 'enrol-subject-pin-confirm', visit, seen);
    await d.typePin(LEE.pin);
    await expectScreen(d, 'enrol-subject-key', visit, seen);
    await d.fill('key-label', 'Blue key');
    await d.click('register');
    await expectScreen(d, 'enrol-review', visit, seen);
    await d.click('save');
    await expectScreen(d, 'enrol-done', visit, seen);
    await d.click('exit');
    await d.waitFor('locked-owner');

    // Revoking from the workstation: Dana signs in to enrolment again and looks up Sam.
    await proveEnroller(h, d, DANA);
    await d.click('choose-revoke');
    await expectScreen(d, 'enrol-revoke-find', visit, seen);
    await d.fill('subject-id', SAM.id);
    await d.click('subject-continue');
    await expectScreen(d, 'enrol-revoke', visit, seen);
    await d.click('back');
    await d.waitFor('enrol-menu');

    // Security-key sign-in (Linux rules: key presence, then the agent PIN).
    await page.goto(`${h.origin}/lock/index.html`);
    await d.waitFor('locked-owner');
    await applyPolicy(h, FIDO2_POLICY, () => h.agent.policy().session.strongFactor === 'fido2');
    await auth.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: auth.id, enabled: false });
    await d.tap(LEE.badge);
    await expectScreen(d, 'key-touch', visit, seen);
    await expectScreen(d, 'key-no-key-detected', visit, seen);
    await auth.cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: auth.id, enabled: true });
    // A response the agent refuses (its signature altered on the way).
    h.intercept('lock:fido2-finish', async (payload) => corruptSignature(payload));
    await d.click('key-start');
    await expectScreen(d, 'key-key-refused', visit, seen);
    await d.click('key-start');
    await expectScreen(d, 'pin-after-key', visit, seen);
    await d.typePin(LEE.pin);
    await d.waitFor('unlocked');
    await h.agent.dispatch({ type: 'manual-lock', via: 'tray' });
    await d.waitFor('locked-owner');
    // Kim has no security key, and this workstation now asks for one.
    await seed(h, KIM);
    await d.tap(KIM.badge);
    await expectScreen(d, 'no-key-enrolled', visit, seen);
    await d.click('dismiss');

    // The organisation key is missing (keychain restored without it): badges cannot be checked.
    await h.stopAgent();
    await h.keyStore.delete('directory-org-key');
    await h.startAgent();
    await page.reload();
    await d.waitFor('locked');
    await d.tap(DANA.badge);
    await expectScreen(d, 'agent-error', visit, seen);

    // The enrol page when enrolment ends with a message.
    await page.goto(`${h.origin}/enroll/index.html`);
    await d.waitFor('enrol-enroller-badge');
    await d.tap(DANA.badge);
    await expectScreen(d, 'enrol-closed', visit, seen);
    await opts.beforeStop?.(h);
  } finally {
    await h.stop();
  }
  return [...seen];
}

/** Flips a bit of the assertion signature, as a tampering page or a broken key would. */
function corruptSignature(payload: unknown): unknown {
  const p = payload as { response?: { response?: { signature?: string } } };
  const sig = p.response?.response?.signature;
  if (!sig) return payload;
  const bytes = Buffer.from(sig, 'base64url');
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x01;
  return { ...p, response: { ...p.response, response: { ...p.response!.response, signature: bytes.toString('base64url') } } };
}
