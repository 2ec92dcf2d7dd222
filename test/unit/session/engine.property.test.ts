// Property tests: random event sequences over random policies and random (even backwards)
// monotonic clocks. They prove the engine's invariants hold after every single step.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { auditEventInputSchema } from '../../../main/audit/event';
import type { SessionEffect, TimerName } from '../../../main/session/effects';
import { deadlines, start, step } from '../../../main/session/engine';
import type { SessionEvent } from '../../../main/session/events';
import { sessionPolicySchema, type SessionPolicy } from '../../../main/session/policy';
import { emergencyOf, isOpen, ownerOf, type SessionState } from '../../../main/session/state';

const USERS = ['nurse-0042', 'nurse-0077', 'dr-0007'] as const;

const policyArb: fc.Arbitrary<SessionPolicy> = fc
  .record({
    lockAfterSeconds: fc.integer({ min: 1, max: 900 }),
    warnFraction: fc.double({ min: 0, max: 0.99, noNaN: true }),
    logoffAfterSeconds: fc.integer({ min: 1, max: 4 * 3600 }),
    graceHours: fc.constantFrom(0, 0.01, 1, 4, 12),
    strongFactor: fc.constantFrom('pin', 'fido2'),
    emergencyMaxMinutes: fc.constantFrom(0.5, 1, 10, 60, 120),
    osLockOnLock: fc.boolean(),
    tapOut: fc.constantFrom('lock', 'logoff', 'off'),
    logoffAction: fc.constantFrom({ kind: 'agent-signout' }, { kind: 'os-logoff' }, { kind: 'command', argv: ['/usr/bin/true'] }),
  })
  .map(({ warnFraction, ...p }) =>
    sessionPolicySchema.parse({ ...p, warnAfterSeconds: Math.floor(p.lockAfterSeconds * warnFraction) }),
  );

const userArb = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...USERS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
const reasonArb = fc.constantFrom('', '  ', 'ok', 'code blue bay 3', 'badge reader offline', 'x'.repeat(300));

const eventArb: fc.Arbitrary<SessionEvent> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ type: 'activity' as const }) },
  {
    weight: 10,
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.constantFrom(Number.NaN, -1, Number.POSITIVE_INFINITY, 0))
      .map((idleMs) => ({ type: 'tick' as const, idleMs })),
  },
  { weight: 6, arbitrary: userArb.map((user) => ({ type: 'badge' as const, user })) },
  { weight: 4, arbitrary: userArb.map((user) => ({ type: 'pin-ok' as const, user })) },
  { weight: 2, arbitrary: userArb.map((user) => ({ type: 'pin-fail' as const, user, kind: 'wrong-pin' })) },
  { weight: 3, arbitrary: fc.tuple(userArb, fc.constantFrom(undefined, 'authenticator' as const, 'agent-pin' as const)).map(([user, uv]) => ({ type: 'fido-ok' as const, user, uv })) },
  { weight: 2, arbitrary: userArb.map((user) => ({ type: 'switch-confirm' as const, user })) },
  { weight: 1, arbitrary: fc.constant({ type: 'auth-cancel' as const }) },
  { weight: 1, arbitrary: userArb.map((user) => ({ type: 'access-revoked' as const, user })) },
  { weight: 1, arbitrary: userArb.map((user) => ({ type: 'fido-fail' as const, user })) },
  { weight: 2, arbitrary: fc.constantFrom('tray' as const, 'hotkey' as const).map((via) => ({ type: 'manual-lock' as const, via })) },
  { weight: 1, arbitrary: userArb.map((user) => ({ type: 'tap-out' as const, user })) },
  { weight: 2, arbitrary: fc.constantFrom({ type: 'suspend' as const }, { type: 'resume' as const }, { type: 'os-lock' as const }) },
  { weight: 1, arbitrary: policyArb.map((policy) => ({ type: 'policy' as const, policy })) },
  { weight: 2, arbitrary: fc.tuple(userArb, reasonArb).map(([user, reason]) => ({ type: 'breakglass-start' as const, user, reason })) },
  { weight: 1, arbitrary: reasonArb.map((reason) => ({ type: 'breakglass-extend' as const, reason })) },
  { weight: 1, arbitrary: fc.constant({ type: 'breakglass-end' as const }) },
  { weight: 1, arbitrary: fc.constantFrom(null, {}, { type: 'nonsense' }, { type: 'tick' }) as fc.Arbitrary<SessionEvent> },
);

/** Lands exactly around the engine's next deadline, as a controller timer does. */
type AtDeadline = { readonly atDeadline: number };

/** Time between events: mostly seconds, sometimes long gaps, sometimes a clock that goes back or is NaN. */
const deltaArb: fc.Arbitrary<number | AtDeadline> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -2, max: 2 }).map((atDeadline) => ({ atDeadline })) },
  { weight: 10, arbitrary: fc.integer({ min: 0, max: 120_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 6 * 3600_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -60_000, max: -1 }) },
  { weight: 1, arbitrary: fc.constant(Number.NaN) },
);

const scenarioArb = fc.record({
  policy: policyArb,
  origin: fc.integer({ min: 0, max: 1e9 }),
  steps: fc.array(fc.tuple(deltaArb, eventArb), { minLength: 1, maxLength: 80 }),
});

const audits = (effects: readonly SessionEffect[]) => effects.flatMap((e) => (e.type === 'audit' ? [e.input] : []));

function eventUser(event: unknown): string | null {
  const user = typeof event === 'object' && event !== null ? (event as { user?: unknown }).user : undefined;
  return typeof user === 'string' ? user : null;
}

/** Runs a scenario and checks every invariant after every step; returns nothing, throws on a violation. */
function check(scenario: { policy: SessionPolicy; origin: number; steps: [number | AtDeadline, SessionEvent][] }): void {
  const begun = start(scenario.policy, scenario.origin);
  let state: SessionState = begun.state;
  let clock = scenario.origin;
  // The test's own model of the latest input evidence, independent of the engine's fields.
  let lastInput = scenario.origin;
  const timers = new Map<TimerName, number>();

  for (const [index, [spec, event]] of scenario.steps.entries()) {
    const nextDeadline = Math.min(...Object.values(deadlines(state)));
    const delta = typeof spec === 'number' ? spec : Number.isFinite(nextDeadline) ? Math.max(0, nextDeadline - clock) + spec.atDeadline : 1000;
    const now = Number.isNaN(delta) ? Number.NaN : clock + delta;
    if (Number.isFinite(now)) clock = now;
    const prev = state;
    let result;
    assert.doesNotThrow(() => {
      result = step(prev, event, now);
    }, `step ${index} threw`);
    const { state: next, effects } = result as unknown as ReturnType<typeof step>;
    state = next;
    const where = `step ${index}: ${JSON.stringify(event)} in ${prev.phase.kind}`;
    const t = next.now;

    // Model the input evidence the engine was given.
    if (event?.type === 'activity') lastInput = Math.max(lastInput, t);
    if (event?.type === 'tick' && typeof event.idleMs === 'number' && event.idleMs >= 0 && Number.isFinite(event.idleMs)) lastInput = Math.max(lastInput, t - event.idleMs);
    if (effects.some((e) => e.type === 'unlock')) lastInput = Math.max(lastInput, t);

    // Total and well-formed: nothing failed inside, every audit is one the store accepts.
    for (const input of audits(effects)) {
      assert.notEqual(input.details?.reason, 'engine-error', where);
      const parsed = auditEventInputSchema.safeParse(input);
      assert.ok(parsed.success, `${where}: invalid audit ${JSON.stringify(input)}`);
    }

    // Never open once idle reaches lockAfter.
    const lockMs = next.policy.lockAfterSeconds * 1000;
    if (isOpen(next.phase)) assert.ok(t - lastInput < lockMs, `${where}: open with ${t - lastInput} ms idle (lock at ${lockMs})`);

    // Every transition is audited.
    const transitioned = prev.phase.kind !== next.phase.kind || ownerOf(prev.phase) !== ownerOf(next.phase);
    if (transitioned) assert.ok(audits(effects).length > 0, `${where}: ${prev.phase.kind} → ${next.phase.kind} without audit`);

    // A lock effect always comes before the audit that records it.
    const firstLockAudit = effects.findIndex((e) => e.type === 'audit' && e.input.action === 'session.lock');
    if (firstLockAudit >= 0 && prev.phase.kind !== 'logged-off') {
      const lockIdx = effects.findIndex((e) => e.type === 'lock');
      assert.ok(lockIdx >= 0 && lockIdx < firstLockAudit, `${where}: session.lock audited without a lock effect before it`);
    }

    // Break-glass is time-boxed and always ends by its deadline, audited.
    const em = emergencyOf(next.phase);
    if (em) {
      assert.ok(t < em.expiresAt, `${where}: emergency past its deadline`);
      assert.ok(em.expiresAt - t <= next.policy.emergencyMaxMinutes * 60_000, `${where}: emergency longer than the policy allows`);
    }
    if (emergencyOf(prev.phase) && !em) {
      assert.ok(audits(effects).some((a) => a.action === 'breakglass.stop' || a.action === 'breakglass.expire'), `${where}: break-glass ended unaudited`);
    }

    // A user never gains another user's session.
    const before = ownerOf(prev.phase);
    const after = ownerOf(next.phase);
    if (before !== null && after !== before) {
      const logoffIdx = effects.findIndex((e) => e.type === 'logoff' && e.user === before);
      assert.ok(logoffIdx >= 0, `${where}: owner ${before} replaced by ${String(after)} without a logoff`);
      const unlockIdx = effects.findIndex((e) => e.type === 'unlock');
      if (unlockIdx >= 0) assert.ok(logoffIdx < unlockIdx, `${where}: new session before the old one ended`);
    }
    // A badge tap by itself never ends the owner's session (only a proven sign-in does).
    if (event?.type === 'badge' && before !== null && !isOpen(prev.phase)) {
      assert.ok(!effects.some((e) => e.type === 'logoff' && e.reason === 'user-switch'), `${where}: a tap alone ended ${before}'s session`);
    }
    if (isOpen(next.phase) && !(isOpen(prev.phase) && ownerOf(prev.phase) === next.phase.user)) {
      assert.equal(eventUser(event), next.phase.user, `${where}: opened for ${next.phase.user} without their own authentication`);
    }

    // Timer effects keep the controller's timers exactly on the engine's deadlines.
    for (const e of effects) {
      if (e.type === 'set-timer') timers.set(e.timer, e.at);
      if (e.type === 'clear-timer') timers.delete(e.timer);
    }
    assert.deepEqual(Object.fromEntries(timers), deadlines(next), `${where}: timers drifted from deadlines`);
  }
}

describe('session engine properties', () => {
  it('hold after every step of random event sequences, policies and clocks', () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        check(scenario);
      }),
      { numRuns: 400 },
    );
  });

  it('hold for long idle-heavy runs (ticks, activity and power events only)', () => {
    const idleEvents = fc.oneof(
      fc.constant({ type: 'activity' as const }),
      fc.integer({ min: 0, max: 1_000_000 }).map((idleMs) => ({ type: 'tick' as const, idleMs })),
      fc.constantFrom({ type: 'suspend' as const }, { type: 'resume' as const }, { type: 'os-lock' as const }),
      fc.constantFrom(...USERS).map((user) => ({ type: 'badge' as const, user })),
      fc.constantFrom(...USERS).map((user) => ({ type: 'pin-ok' as const, user })),
    );
    fc.assert(
      fc.property(
        fc.record({ policy: policyArb, origin: fc.constant(0), steps: fc.array(fc.tuple(fc.integer({ min: 0, max: 30_000 }), idleEvents), { maxLength: 300 }) }),
        (scenario) => {
          check(scenario);
        },
      ),
      { numRuns: 100 },
    );
  });
});
