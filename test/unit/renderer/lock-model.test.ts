// The lock page's state machine and its words: one clear screen per state, under Node.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LockView, Sequenced } from '../../../preload/contract';
import { countdownText, INITIAL, reduce, screenOf, type PageState } from '../../../renderer/lock/lock-model';

let seq = 0;
const view = (v: LockView): Sequenced<LockView> => ({ ...v, seq: ++seq });
const DANA = { displayName: 'Dana Reyes' };
const SAM = { displayName: 'Sam Okafor' };
const show = (v: LockView, s: PageState = INITIAL) => screenOf(reduce(s, { type: 'view', view: view(v) }), 0);

describe('lock page model', () => {
  it('shows the owner on a locked screen, and how to reach IT when nobody is enrolled', () => {
    const owner = show({ screen: 'locked', owner: DANA, directoryEmpty: false });
    assert.equal(owner.id, 'locked-owner');
    assert.match(owner.lines.join(' '), /Dana Reyes is signed in/);
    assert.equal(show({ screen: 'locked', owner: null, directoryEmpty: true }).id, 'locked-empty');
    assert.match(show({ screen: 'locked', owner: null, directoryEmpty: true }).lines.join(' '), /agentctl user add/);
  });

  it('names whose session a tap-over ends, on the PIN screen and on the confirmation', () => {
    const pin = show({ screen: 'pin', user: SAM, purpose: 'unlock', afterKey: false, wrong: false, triesLeft: 5, minLength: 4, maxLength: 8, ends: DANA });
    assert.equal(pin.id, 'pin-tap-over');
    assert.equal(pin.alert, 'Signing in ends Dana Reyes’s session.');
    const confirm = show({ screen: 'tap-over', user: SAM, owner: DANA });
    assert.equal(confirm.heading, 'Sign in as Sam Okafor?');
    assert.match(confirm.alert ?? '', /ends Dana Reyes’s session/);
    assert.deepEqual(confirm.actions.map((a) => a.id), ['confirm-switch', 'cancel']);
  });

  it('says how many tries are left after a wrong PIN, and when a locked-out user can try again', () => {
    const wrong = show({ screen: 'pin', user: SAM, purpose: 'unlock', afterKey: false, wrong: true, triesLeft: 1, minLength: 4, maxLength: 8, ends: null });
    assert.equal(wrong.alert, 'Wrong PIN. 1 try left before the account locks.');
    const until = new Date(Date.now() + 14 * 60_000).toISOString();
    const out = show({ screen: 'locked-out', user: SAM, until, helpDesk: 'Call the service desk on 4357.' });
    assert.match(out.lines.join(' '), /try again at \d\d:\d\d \(in about 14 min\)/);
    assert.match(out.lines.join(' '), /Call the service desk on 4357/);
  });

  it('has a distinct screen for every notice and key problem', () => {
    const ids = new Set<string>();
    for (const kind of ['unknown-badge', 'revoked-badge', 'revoked-user', 'no-key-enrolled', 'no-pin-enrolled', 'directory-unavailable'] as const) {
      ids.add(show({ screen: 'notice', kind, helpDesk: 'x' }).id);
    }
    for (const problem of ['no-key-detected', 'key-refused', 'key-revoked', 'cancelled', 'not-allowed', null] as const) {
      ids.add(show({ screen: 'fido2', user: SAM, purpose: 'unlock', timeoutMs: 30_000, problem, ends: null }).id);
    }
    assert.equal(ids.size, 12);
    assert.equal(show({ screen: 'fido2', user: SAM, purpose: 'unlock', timeoutMs: 30_000, problem: 'no-key-detected', ends: null }).heading, 'No security key detected');
  });

  it('counts down the key touch from when the ceremony started', () => {
    let s = reduce(INITIAL, { type: 'view', view: view({ screen: 'fido2', user: SAM, purpose: 'unlock', timeoutMs: 30_000, problem: null, ends: null }) });
    s = reduce(s, { type: 'ceremony-start', at: 1_000, timeoutMs: 30_000 });
    const m = screenOf(s, 11_000);
    assert.equal(m.countdown?.seconds, 20);
    assert.equal(countdownText(m.countdown!, 13_500), '18 s left to touch the key');
  });

  it('never renders an older view over a newer one, and a new view ends "reading badge"', () => {
    const newer = view({ screen: 'unlocked', user: DANA });
    const older = { ...view({ screen: 'locked', owner: null, directoryEmpty: false }), seq: newer.seq - 5 };
    let s = reduce(INITIAL, { type: 'view', view: newer });
    s = reduce(s, { type: 'view', view: older });
    assert.equal(screenOf(s, 0).id, 'unlocked');
    s = reduce(reduce(s, { type: 'view', view: view({ screen: 'locked', owner: null, directoryEmpty: false }) }), { type: 'burst' });
    assert.equal(screenOf(s, 0).id, 'reading-badge');
    s = reduce(s, { type: 'view', view: view({ screen: 'pin', user: DANA, purpose: 'unlock', afterKey: false, wrong: false, triesLeft: 5, minLength: 4, maxLength: 8, ends: null }) });
    assert.equal(screenOf(s, 0).id, 'pin');
  });

  it('shows its own error when the agent does not answer, and clears it with the next view', () => {
    let s = reduce(INITIAL, { type: 'request-failed', message: 'timeout' });
    const m = screenOf(s, 0);
    assert.equal(m.id, 'agent-unreachable');
    assert.ok(!m.lines.join(' ').includes('timeout'), 'never the raw error');
    s = reduce(s, { type: 'view', view: view({ screen: 'locked', owner: null, directoryEmpty: false }) });
    assert.equal(screenOf(s, 0).id, 'locked');
  });

  it('counts the emergency time in minutes and the idle warning in seconds', () => {
    const em = show({ screen: 'emergency', user: DANA, expiresAt: new Date().toISOString(), secondsLeft: 3000, reason: 'Life-threatening emergency', reasons: [], error: null });
    assert.equal(countdownText(em.countdown!, 0), '50 min left');
    const warn = show({ screen: 'warning', user: DANA, secondsLeft: 60, emergency: false });
    assert.equal(countdownText(warn.countdown!, 30_000), 'Locks in 30 s');
    assert.deepEqual(warn.actions.map((a) => a.id), ['still-here']);
  });
});
