import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SuspendAwareClock } from '../../../main/platform/suspend-aware-clock';

function base() {
  const c = { mono: 1000, wall: Date.UTC(2026, 10, 22, 2, 0, 0) };
  return { c, clock: { monotonicMs: () => c.mono, wallMs: () => c.wall } };
}

test('time asleep (wall advanced, OS monotonic clock stopped) is added to the monotonic clock on resume', () => {
  const { c, clock } = base();
  const s = new SuspendAwareClock(clock);
  s.noteSuspend();
  c.wall += 2 * 3600_000; // two hours asleep; the OS monotonic clock did not move
  c.mono += 50;
  assert.equal(s.noteResume(), 2 * 3600_000 - 50);
  assert.equal(s.monotonicMs(), 1050 + 2 * 3600_000 - 50);
});

test('awake, wall-clock jumps never move the monotonic clock', () => {
  const { c, clock } = base();
  const s = new SuspendAwareClock(clock);
  c.wall += 3600_000; // NTP or DST or a manual change while awake
  c.mono += 10;
  assert.equal(s.monotonicMs(), 1010);
  assert.equal(s.noteResume(), 0, 'a resume without a suspend adds nothing');
});

test('a wall clock set back during sleep adds nothing, and a short nap under a second is ignored', () => {
  const { c, clock } = base();
  const s = new SuspendAwareClock(clock);
  s.noteSuspend();
  c.wall -= 3600_000;
  assert.equal(s.noteResume(), 0);
  s.noteSuspend();
  c.wall += 800;
  assert.equal(s.noteResume(), 0);
  assert.equal(s.monotonicMs(), 1000);
});
