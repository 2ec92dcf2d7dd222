// Drives the pure engine through a scripted day: keeps the state, the monotonic time and
// every effect, so a test reads like the behaviour it proves.
import type { AuditEventInput } from '../../../main/audit/event';
import type { SessionEffect } from '../../../main/session/effects';
import { start, step } from '../../../main/session/engine';
import type { SessionEvent } from '../../../main/session/events';
import { sessionPolicySchema, type SessionPolicy } from '../../../main/session/policy';
import type { SessionState } from '../../../main/session/state';

export const NURSE = 'nurse-0042';
export const OTHER_NURSE = 'nurse-0077';

export function testPolicy(overrides: Record<string, unknown> = {}): SessionPolicy {
  return sessionPolicySchema.parse({ warnAfterSeconds: 240, lockAfterSeconds: 300, logoffAfterSeconds: 1800, graceHours: 4, ...overrides });
}

export class EngineDriver {
  state: SessionState;
  now = 10_000;
  readonly all: SessionEffect[] = [];
  last: readonly SessionEffect[] = [];

  constructor(policy: SessionPolicy = testPolicy()) {
    const s = start(policy, this.now);
    this.state = s.state;
    this.all.push(...s.effects);
  }

  send(event: SessionEvent, afterMs = 0): readonly SessionEffect[] {
    this.now += afterMs;
    const r = step(this.state, event, this.now);
    this.state = r.state;
    this.last = r.effects;
    this.all.push(...r.effects);
    return r.effects;
  }

  /** Lets `ms` pass with no input, ticking the way the controller's timers would. */
  idle(ms: number, idleBefore = this.now - this.state.lastInputAt): readonly SessionEffect[] {
    return this.send({ type: 'tick', idleMs: idleBefore + ms }, ms);
  }

  /** Signs `user` in with badge + PIN from a locked or logged-off screen. */
  signIn(user = NURSE): void {
    this.send({ type: 'badge', user });
    this.send({ type: 'pin-ok', user });
  }

  get phase(): SessionState['phase']['kind'] {
    return this.state.phase.kind;
  }
}

export function audits(effects: readonly SessionEffect[]): AuditEventInput[] {
  return effects.flatMap((e) => (e.type === 'audit' ? [e.input] : []));
}

export function actions(effects: readonly SessionEffect[]): string[] {
  return audits(effects).map((a) => a.action);
}

export function kinds(effects: readonly SessionEffect[]): string[] {
  return effects.filter((e) => e.type !== 'set-timer' && e.type !== 'clear-timer').map((e) => (e.type === 'audit' ? `audit:${e.input.action}` : e.type));
}
