// A workstation that sleeps past the logoff deadline logs the owner off on resume: the OS
// monotonic clock stops during sleep, the SuspendAwareClock adds the time asleep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionController } from '../../../main/session/controller';
import { sessionPolicySchema } from '../../../main/session/policy';
import { SuspendAwareClock } from '../../../main/platform/suspend-aware-clock';
import { ControllableIdleSource, ManualClock } from '../../support/fake-idle';
import { MemoryAuditRecorder, RecordingLockPresenter, RecordingOsSession } from '../../support/session-doubles';

const NURSE = 'nurse-0042';

async function sleepFor(wallMs: number, withSuspendAwareClock: boolean) {
  const manual = new ManualClock();
  const clock = withSuspendAwareClock ? new SuspendAwareClock(manual) : manual;
  const idle = new ControllableIdleSource(manual);
  const presenter = new RecordingLockPresenter();
  const os = new RecordingOsSession();
  const audit = new MemoryAuditRecorder();
  const policy = sessionPolicySchema.parse({ logoffAction: { kind: 'command', argv: ['/usr/local/bin/end-ehr-session'] } });
  const controller = new SessionController({ policy, idle, clock, presenter, os, audit });
  const phase = (): string => controller.state.phase.kind;
  try {
    await controller.start();
    await controller.dispatch({ type: 'badge', user: NURSE });
    idle.activity();
    await controller.dispatch({ type: 'pin-ok', user: NURSE });
    assert.equal(phase(), 'unlocked');
    if (clock instanceof SuspendAwareClock) clock.noteSuspend();
    idle.power('suspend');
    await controller.flush();
    assert.equal(phase(), 'locked');
    manual.jumpWall(wallMs); // asleep: only the wall clock moves
    if (clock instanceof SuspendAwareClock) clock.noteResume();
    idle.power('resume');
    await controller.flush();
    await new Promise((r) => setImmediate(r)); // let a due timer fire
    await controller.flush();
    return { phase: phase(), runs: os.calls.filter((c) => c.kind === 'run').length };
  } finally {
    controller.dispose();
  }
}

test('sleeping two hours while locked (logoff after 30 min) logs the owner off on resume', async () => {
  const r = await sleepFor(2 * 3600_000, true);
  assert.equal(r.phase, 'logged-off');
  assert.equal(r.runs, 1);
});

test('a five-minute nap stays locked, not logged off', async () => {
  const r = await sleepFor(5 * 60_000, true);
  assert.equal(r.phase, 'locked');
  assert.equal(r.runs, 0);
});

test('without the suspend-aware clock the two hours asleep would not count (the bug it fixes)', async () => {
  const r = await sleepFor(2 * 3600_000, false);
  assert.equal(r.phase, 'locked');
});
