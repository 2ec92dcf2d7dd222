// The session engine's behaviour, event by event: what a nurse, IT and an auditor expect.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deadlines, step } from '../../../main/session/engine';
import type { SessionEvent } from '../../../main/session/events';
import { actions, audits, EngineDriver, kinds, NURSE, OTHER_NURSE, testPolicy } from './engine-driver';

describe('session engine: idle warning, lock and logoff', () => {
  it('shows the warning when idle reaches warnAfter and any input cancels it', () => {
    const d = new EngineDriver();
    d.signIn();
    assert.equal(d.phase, 'unlocked');
    assert.deepEqual(kinds(d.idle(239_000)), []);
    assert.deepEqual(kinds(d.idle(1_000)), ['show-warning', 'audit:session.warning']);
    const shown = d.last.find((e) => e.type === 'show-warning');
    assert.deepEqual(shown, { type: 'show-warning', lockAt: d.now + 60_000, secondsLeft: 60 });
    assert.equal(d.phase, 'warning');
    assert.deepEqual(kinds(d.send({ type: 'activity' }, 5_000)), ['hide-warning', 'audit:session.warning_cancelled']);
    assert.equal(d.phase, 'unlocked');
  });

  it('locks at lockAfter: the lock effect comes before its audit, and the owner keeps the session', () => {
    const d = new EngineDriver();
    d.signIn();
    d.idle(240_000);
    const effects = d.idle(60_000);
    assert.deepEqual(kinds(effects), ['hide-warning', 'lock', 'audit:session.lock']);
    assert.deepEqual(effects.find((e) => e.type === 'lock'), { type: 'lock', reason: 'idle', owner: NURSE, osLock: false });
    assert.deepEqual(d.state.phase, { kind: 'locked', owner: NURSE, since: d.now, pending: null });
    const lock = audits(effects)[0];
    assert.equal(lock?.user, NURSE);
    assert.equal(lock?.method, 'idle');
    assert.equal(lock?.details?.reason, 'idle');
  });

  it('asks for the OS lock too when the policy says so', () => {
    const d = new EngineDriver(testPolicy({ osLockOnLock: true }));
    d.signIn();
    const effects = d.send({ type: 'manual-lock', via: 'hotkey' });
    assert.deepEqual(effects.find((e) => e.type === 'lock'), { type: 'lock', reason: 'manual', owner: NURSE, osLock: true });
    assert.equal(audits(effects)[0]?.method, 'hotkey');
  });

  it('logs the owner off after logoffAfter locked, with the policy action', () => {
    const d = new EngineDriver(testPolicy({ logoffAction: { kind: 'command', argv: ['/usr/local/bin/end-ehr-session', '--user-session'] } }));
    d.signIn();
    d.send({ type: 'manual-lock', via: 'tray' });
    assert.deepEqual(kinds(d.send({ type: 'tick', idleMs: 0 }, 1_799_999)), []);
    const effects = d.send({ type: 'tick', idleMs: 0 }, 1);
    assert.deepEqual(kinds(effects), ['logoff', 'audit:session.logoff']);
    assert.deepEqual(effects[0], {
      type: 'logoff',
      user: NURSE,
      reason: 'locked-timeout',
      action: { kind: 'command', argv: ['/usr/local/bin/end-ehr-session', '--user-session'] },
    });
    assert.equal(d.phase, 'logged-off');
  });

  it('a timer that fires late still locks at the deadline and logs off when both are overdue', () => {
    const d = new EngineDriver();
    d.signIn();
    // No tick for 40 minutes (a stalled process): lock, then logoff, in one step.
    const effects = d.idle(40 * 60_000);
    assert.deepEqual(actions(effects), ['session.lock', 'session.logoff']);
    const lock = audits(effects)[0];
    assert.equal(lock?.details?.lateMs, 40 * 60_000 - 300_000);
    assert.equal(d.phase, 'logged-off');
  });

  it('input seen only after the lock deadline does not reopen the session', () => {
    const d = new EngineDriver();
    d.signIn();
    const signedInAt = d.now;
    // The first poll comes 310 s later and reports input 2 s ago: the window had closed.
    const effects = d.send({ type: 'tick', idleMs: 2_000 }, 310_000);
    assert.ok(actions(effects).includes('session.lock'));
    assert.equal(d.phase, 'locked');
    assert.equal(d.state.phase.kind === 'locked' && d.state.phase.since, signedInAt + 300_000);
  });

  it('input before the deadline, learned late, moves the window instead of locking', () => {
    const d = new EngineDriver();
    d.signIn();
    // Poll at 250 s shows input 200 s ago (at 50 s): the idle window restarts from there.
    assert.deepEqual(actions(d.send({ type: 'tick', idleMs: 200_000 }, 250_000)), []);
    assert.equal(d.phase, 'unlocked');
    assert.equal(deadlines(d.state).lock, d.now - 200_000 + 300_000);
  });

  it('sets and clears named timers at monotonic deadlines', () => {
    const d = new EngineDriver();
    d.send({ type: 'badge', user: NURSE });
    const effects = d.send({ type: 'pin-ok', user: NURSE });
    const timers = effects.filter((e) => e.type === 'set-timer' || e.type === 'clear-timer');
    assert.deepEqual(timers, [
      { type: 'set-timer', timer: 'warn', at: d.now + 240_000 },
      { type: 'set-timer', timer: 'lock', at: d.now + 300_000 },
    ]);
    const locked = d.send({ type: 'manual-lock', via: 'tray' }, 1000);
    assert.deepEqual(
      locked.filter((e) => e.type === 'set-timer' || e.type === 'clear-timer'),
      [{ type: 'clear-timer', timer: 'warn' }, { type: 'clear-timer', timer: 'lock' }, { type: 'set-timer', timer: 'logoff', at: d.now + 1_800_000 }],
    );
  });
});

describe('session engine: power and OS events', () => {
  for (const [event, reason] of [
    [{ type: 'suspend' }, 'suspend'],
    [{ type: 'resume' }, 'resume'],
    [{ type: 'os-lock' }, 'os-lock'],
  ] as const) {
    it(`${event.type} on an unlocked screen locks (reason ${reason})`, () => {
      const d = new EngineDriver(testPolicy({ osLockOnLock: true }));
      d.signIn();
      const effects = d.send(event, 1_000);
      const lock = effects.find((e) => e.type === 'lock');
      assert.deepEqual(lock, { type: 'lock', reason, owner: NURSE, osLock: reason !== 'os-lock' });
      assert.equal(d.phase, 'locked');
    });
  }

  it('stays locked on resume after sleep, however little or much the clock moved', () => {
    for (const sleptMs of [0, 5, 3 * 3600_000]) {
      const d = new EngineDriver();
      d.signIn();
      d.send({ type: 'suspend' }, 1_000);
      d.send({ type: 'resume' }, sleptMs);
      // Input right after resume must not reopen the session either.
      d.send({ type: 'activity' }, 10);
      assert.notEqual(d.phase, 'unlocked', `slept ${sleptMs} ms`);
      assert.notEqual(d.phase, 'warning');
    }
  });

  it('only the monotonic time counts: the engine has no wall clock to jump', () => {
    const d = new EngineDriver();
    d.signIn();
    const effects = d.send({ type: 'tick', idleMs: 299_999 }, 299_999);
    assert.ok(!actions(effects).includes('session.lock'));
    // A monotonic clock that goes backwards is ignored, never a reason to reopen or lock.
    const back = step(d.state, { type: 'tick', idleMs: 0 }, d.now - 3600_000);
    assert.equal(back.state.now, d.now);
  });
});

describe('session engine: badges, factors and grace', () => {
  it('first sign-in needs badge then the strong factor; the unlock names the method', () => {
    const d = new EngineDriver();
    const tap = d.send({ type: 'badge', user: NURSE });
    assert.deepEqual(kinds(tap), ['audit:auth.badge.success', 'request-factor']);
    assert.deepEqual(tap.find((e) => e.type === 'request-factor'), { type: 'request-factor', user: NURSE, factor: 'pin' });
    const pin = d.send({ type: 'pin-ok', user: NURSE });
    assert.deepEqual(kinds(pin), ['audit:auth.pin.success', 'unlock', 'audit:session.unlock']);
    const unlock = audits(pin)[1];
    assert.equal(unlock?.method, 'badge+pin');
    assert.deepEqual(unlock?.details, { reason: 'strong-auth', newSession: true });
  });

  it('inside the grace window the badge alone re-opens the own session', () => {
    const d = new EngineDriver(testPolicy({ logoffAfterSeconds: 4 * 3600 }));
    d.signIn();
    d.send({ type: 'manual-lock', via: 'tray' }, 60_000);
    const tap = d.send({ type: 'badge', user: NURSE }, 3 * 3600_000);
    assert.deepEqual(kinds(tap), ['audit:auth.badge.success', 'unlock', 'audit:session.unlock']);
    const unlock = audits(tap)[1];
    assert.equal(unlock?.method, 'badge');
    assert.deepEqual(unlock?.details, { reason: 'grace', newSession: false });
  });

  it('outside the grace window the badge needs the factor the policy names (FIDO2)', () => {
    const d = new EngineDriver(testPolicy({ strongFactor: 'fido2', graceHours: 1, logoffAfterSeconds: 14_400 }));
    d.send({ type: 'badge', user: NURSE });
    d.send({ type: 'fido-ok', user: NURSE });
    d.send({ type: 'manual-lock', via: 'tray' });
    const tap = d.send({ type: 'badge', user: NURSE }, 3600_000);
    assert.deepEqual(tap.find((e) => e.type === 'request-factor'), { type: 'request-factor', user: NURSE, factor: 'fido2' });
    const pin = d.send({ type: 'pin-ok', user: NURSE });
    assert.deepEqual(actions(pin), ['session.event_refused']);
    assert.equal(d.phase, 'locked');
    const fido = d.send({ type: 'fido-ok', user: NURSE });
    assert.deepEqual(actions(fido), ['auth.fido.success', 'session.unlock']);
    assert.equal(audits(fido)[1]?.method, 'badge+fido2');
    assert.deepEqual(audits(fido)[1]?.details, { reason: 'strong-auth', newSession: false });
  });

  it("the owner's own badge on an unlocked screen taps out (lock)", () => {
    const d = new EngineDriver();
    d.signIn();
    const effects = d.send({ type: 'badge', user: NURSE }, 5_000);
    assert.deepEqual(kinds(effects), ['audit:session.tap_out', 'lock', 'audit:session.lock']);
    assert.equal(d.phase, 'locked');
  });

  it('tap-out ends the session when the policy says logoff, and is refused when off', () => {
    const d = new EngineDriver(testPolicy({ tapOut: 'logoff' }));
    d.signIn();
    assert.deepEqual(actions(d.send({ type: 'tap-out', user: NURSE })), ['session.tap_out', 'session.lock', 'session.logoff']);
    assert.equal(d.phase, 'logged-off');
    const off = new EngineDriver(testPolicy({ tapOut: 'off' }));
    off.signIn();
    assert.deepEqual(actions(off.send({ type: 'badge', user: NURSE })), ['session.event_refused']);
    assert.equal(off.phase, 'unlocked');
  });

  it("a different user's badge on a locked screen ends the owner's session only once they have proven who they are", () => {
    const d = new EngineDriver();
    d.signIn(NURSE);
    d.send({ type: 'manual-lock', via: 'tray' });
    const tap = d.send({ type: 'badge', user: OTHER_NURSE }, 1_000);
    assert.deepEqual(kinds(tap), ['audit:auth.badge.success', 'request-factor']);
    assert.deepEqual(audits(tap)[0]?.details, { next: 'pin', owner: NURSE });
    assert.deepEqual(d.state.phase.kind === 'locked' && [d.state.phase.owner, d.state.phase.pending?.user], [NURSE, OTHER_NURSE], "the owner's session is still there");
    // A wrong PIN from the newcomer changes nothing for the owner.
    d.send({ type: 'pin-fail', user: OTHER_NURSE, kind: 'wrong-pin', triesLeft: 4 });
    assert.equal(d.state.phase.kind === 'locked' && d.state.phase.owner, NURSE);
    assert.deepEqual(audits(d.last)[0]?.details, { kind: 'wrong-pin', triesLeft: 4 });
    const pin = d.send({ type: 'pin-ok', user: OTHER_NURSE });
    assert.deepEqual(kinds(pin), ['audit:auth.pin.success', 'audit:session.user_switch', 'logoff', 'audit:session.logoff', 'unlock', 'audit:session.unlock']);
    assert.deepEqual(audits(pin)[1]?.details, { from: NURSE, to: OTHER_NURSE });
    assert.deepEqual(audits(pin).at(-1)?.details, { reason: 'strong-auth', newSession: true });
    assert.deepEqual(d.state.phase.kind === 'unlocked' && d.state.phase.user, OTHER_NURSE);
  });

  it("a different user's grace-window badge asks for a confirmation, then gets a new session, never the owner's", () => {
    const d = new EngineDriver();
    d.signIn(OTHER_NURSE);
    d.send({ type: 'manual-lock', via: 'tray' });
    d.signIn(NURSE); // ends OTHER_NURSE's session
    d.send({ type: 'manual-lock', via: 'tray' });
    const tap = d.send({ type: 'badge', user: OTHER_NURSE }, 60_000);
    assert.deepEqual(tap.find((e) => e.type === 'request-factor'), { type: 'request-factor', user: OTHER_NURSE, factor: 'confirm-switch' });
    assert.equal(d.state.phase.kind === 'locked' && d.state.phase.owner, NURSE);
    assert.deepEqual(actions(d.send({ type: 'switch-confirm', user: NURSE })), ['session.event_refused'], 'only the tapped-in user confirms');
    const confirm = d.send({ type: 'switch-confirm', user: OTHER_NURSE });
    const k = kinds(confirm);
    assert.ok(k.indexOf('logoff') < k.indexOf('unlock'), k.join(','));
    assert.deepEqual(confirm.find((e) => e.type === 'logoff'), { type: 'logoff', user: NURSE, reason: 'user-switch', action: { kind: 'agent-signout' } });
    assert.deepEqual(audits(confirm).find((a) => a.action === 'session.unlock')?.details, { reason: 'grace', newSession: true });
  });

  it('a cancelled sign-in forgets the pending tap: a later factor is refused', () => {
    const d = new EngineDriver();
    d.send({ type: 'badge', user: NURSE });
    assert.deepEqual(kinds(d.send({ type: 'auth-cancel' })), []);
    assert.deepEqual(d.state.phase, { kind: 'logged-off', since: 10_000, pending: null });
    assert.deepEqual(actions(d.send({ type: 'pin-ok', user: NURSE })), ['session.event_refused']);
  });

  it("a revocation ends the revoked owner's session at once (lock, then logoff), and nobody else's", () => {
    const d = new EngineDriver();
    d.signIn(NURSE);
    assert.deepEqual(kinds(d.send({ type: 'access-revoked', user: OTHER_NURSE })), []);
    assert.equal(d.phase, 'unlocked');
    const k = kinds(d.send({ type: 'access-revoked', user: NURSE }));
    assert.deepEqual(k, ['lock', 'audit:session.lock', 'logoff', 'audit:session.logoff']);
    assert.deepEqual(audits(d.last).map((a) => a.details?.reason), ['revoked', 'revoked']);
    assert.equal(d.phase, 'logged-off');
  });

  it('records how user verification was obtained for a security key', () => {
    const d = new EngineDriver(testPolicy({ strongFactor: 'fido2' }));
    d.send({ type: 'badge', user: NURSE });
    const ok = d.send({ type: 'fido-ok', user: NURSE, uv: 'agent-pin' });
    assert.deepEqual(audits(ok)[0], { action: 'auth.fido.success', user: NURSE, method: 'badge+fido2', details: { userVerification: 'agent-pin' } });
  });

  it("another user's badge on an unlocked screen locks it for the owner", () => {
    const d = new EngineDriver();
    d.signIn(NURSE);
    const effects = d.send({ type: 'badge', user: OTHER_NURSE });
    assert.deepEqual(effects.find((e) => e.type === 'lock'), { type: 'lock', reason: 'other-badge', owner: NURSE, osLock: false });
    assert.deepEqual(d.state.phase.kind === 'locked' && d.state.phase.owner, NURSE);
  });

  it('refuses (and audits) a factor nobody asked for, and records factor failures', () => {
    const d = new EngineDriver();
    const refused = d.send({ type: 'pin-ok', user: NURSE });
    assert.deepEqual(actions(refused), ['session.event_refused']);
    assert.equal(audits(refused)[0]?.outcome, undefined); // the catalog's 4 applies
    assert.match(String(audits(refused)[0]?.details?.reason), /no badge tap/);
    d.send({ type: 'badge', user: NURSE });
    const fail = d.send({ type: 'pin-fail', user: NURSE, kind: 'wrong-pin' });
    assert.deepEqual(audits(fail), [{ action: 'auth.pin.failure', user: NURSE, method: 'badge+pin', details: { kind: 'wrong-pin' } }]);
    assert.equal(d.phase, 'logged-off');
  });
});

describe('session engine: break-glass', () => {
  const reason = 'cardiac arrest bay 3, badge reader down';

  it('needs a reason, unlocks for emergencyMaxMinutes and ends in lock', () => {
    const d = new EngineDriver(testPolicy({ emergencyMaxMinutes: 60, logoffAfterSeconds: 14_400 }));
    assert.deepEqual(actions(d.send({ type: 'breakglass-start', user: NURSE, reason: '  ' })), ['session.event_refused']);
    const startEffects = d.send({ type: 'breakglass-start', user: NURSE, reason });
    assert.deepEqual(actions(startEffects), ['breakglass.start', 'session.unlock']);
    assert.deepEqual(audits(startEffects)[0]?.details, { reason, expiresInSeconds: 3600, extended: false });
    // Keep the screen busy: only the time box can end it.
    for (let i = 0; i < 59; i++) d.send({ type: 'activity' }, 60_000);
    assert.equal(d.phase, 'emergency');
    const end = d.send({ type: 'activity' }, 60_000);
    assert.deepEqual(kinds(end), ['lock', 'audit:breakglass.expire', 'audit:session.lock']);
    assert.equal(d.phase, 'locked');
  });

  it('cannot be extended without a new reason', () => {
    const d = new EngineDriver(testPolicy({ emergencyMaxMinutes: 30 }));
    d.send({ type: 'breakglass-start', user: NURSE, reason });
    assert.deepEqual(actions(d.send({ type: 'breakglass-extend', reason }, 60_000)), ['session.event_refused']);
    const ext = d.send({ type: 'breakglass-extend', reason: 'second patient, same outage' });
    assert.deepEqual(actions(ext), ['breakglass.start']);
    assert.equal(audits(ext)[0]?.details?.extended, true);
    assert.equal(deadlines(d.state).emergency, d.now + 30 * 60_000);
  });

  it('ends in lock when the user ends it, and idle still locks it', () => {
    const d = new EngineDriver();
    d.send({ type: 'breakglass-start', user: NURSE, reason });
    assert.deepEqual(actions(d.send({ type: 'breakglass-end' })), ['breakglass.stop', 'session.lock']);
    assert.equal(d.phase, 'locked');
    const idle = new EngineDriver();
    idle.send({ type: 'breakglass-start', user: NURSE, reason });
    idle.idle(240_000);
    assert.equal(idle.phase, 'warning');
    assert.deepEqual(actions(idle.idle(60_000)), ['breakglass.stop', 'session.lock']);
  });

  it("by another user on a locked screen ends the owner's session first", () => {
    const d = new EngineDriver();
    d.signIn(NURSE);
    d.send({ type: 'manual-lock', via: 'tray' });
    const k = kinds(d.send({ type: 'breakglass-start', user: OTHER_NURSE, reason }));
    assert.deepEqual(k, ['audit:session.user_switch', 'logoff', 'audit:session.logoff', 'unlock', 'audit:breakglass.start', 'audit:session.unlock']);
  });
});

describe('session engine: policy and malformed input', () => {
  it('a shorter lockAfter from a policy change locks at once with reason policy', () => {
    const d = new EngineDriver();
    d.signIn();
    d.send({ type: 'tick', idleMs: 120_000 }, 120_000);
    const effects = d.send({ type: 'policy', policy: testPolicy({ warnAfterSeconds: 30, lockAfterSeconds: 60 }) });
    assert.deepEqual(effects.find((e) => e.type === 'lock'), { type: 'lock', reason: 'policy', owner: NURSE, osLock: false });
    assert.deepEqual(audits(effects).map((a) => [a.action, a.details?.reason]), [['session.lock', 'policy']]);
  });

  it('a shorter break-glass limit applies to a running break-glass; a longer one does not extend it', () => {
    const d = new EngineDriver(testPolicy({ emergencyMaxMinutes: 60 }));
    d.send({ type: 'breakglass-start', user: NURSE, reason: 'code blue, reader offline' });
    const startedAt = d.now;
    d.send({ type: 'policy', policy: testPolicy({ emergencyMaxMinutes: 120 }) });
    assert.equal(deadlines(d.state).emergency, startedAt + 60 * 60_000);
    d.send({ type: 'policy', policy: testPolicy({ emergencyMaxMinutes: 10 }) }, 1_000);
    assert.equal(deadlines(d.state).emergency, d.now + 10 * 60_000);
  });

  it('refuses malformed events and policies without throwing', () => {
    const d = new EngineDriver();
    d.signIn();
    const bad: unknown[] = [
      null,
      { type: 'warp-drive' },
      { type: 'tick', idleMs: Number.NaN },
      { type: 'badge', user: 'no spaces allowed' },
      { type: 'policy', policy: { lockAfterSeconds: -1 } },
    ];
    for (const event of bad) {
      const effects = d.send(event as SessionEvent);
      assert.deepEqual(actions(effects), ['session.event_refused'], JSON.stringify(event));
    }
    assert.equal(d.phase, 'unlocked');
  });
});
