// The controller against the real audit store (SQLCipher, real keychain) in real time:
// the lock and the logoff fire, and the signed chain holds exactly the expected events.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseEventBody } from '../../../main/audit/event';
import { systemClock } from '../../../main/platform/clock';
import { SessionController } from '../../../main/session/controller';
import { sessionPolicySchema } from '../../../main/session/policy';
import { openTestStore, type TestStore } from '../../support/audit-fixture';
import { RealTimeIdleSource } from '../../support/real-time-idle';
import { RecordingLockPresenter, RecordingOsSession } from '../../support/session-doubles';

const NURSE = 'nurse-0042';
const OTHER = 'nurse-0077';

describe('session controller with the real audit store', () => {
  let fixture: TestStore | null = null;
  after(async () => {
    await fixture?.cleanup();
  });

  it('records badge, unlock, warning, idle lock, user switch and logoff in order, durable and chained', async () => {
    fixture = await openTestStore('session-controller');
    const { store } = fixture;
    const startSeq = store.head().seq;
    const idle = new RealTimeIdleSource();
    const presenter = new RecordingLockPresenter();
    const os = new RecordingOsSession();
    const controller = new SessionController({
      policy: sessionPolicySchema.parse({ warnAfterSeconds: 0.5, lockAfterSeconds: 2, logoffAfterSeconds: 60, logoffAction: { kind: 'os-logoff' } }),
      idle,
      clock: systemClock,
      presenter,
      os,
      audit: store,
      warningPollMs: 50,
    });
    try {
      await controller.start();
      await controller.dispatch({ type: 'badge', user: NURSE });
      idle.activity();
      await controller.dispatch({ type: 'pin-ok', user: NURSE });
      const lock = await presenter.next('showLock');
      assert.equal(lock.reason, 'idle');
      // Another nurse taps the locked screen and proves who she is: the owner's OS session ends before hers starts.
      await controller.dispatch({ type: 'badge', user: OTHER });
      assert.deepEqual(os.calls, [], 'a tap alone ends nobody');
      await controller.dispatch({ type: 'pin-ok', user: OTHER });
      assert.deepEqual(os.calls, [{ kind: 'logoff' }]);
      assert.equal(presenter.calls.at(-1)?.kind, 'hideLock');
      await controller.flush();
    } finally {
      controller.dispose();
    }
    const events = store.readAfter(startSeq, 100).map((row) => parseEventBody(row.body));
    assert.deepEqual(
      events.map((e) => [e.action, e.user, e.details.reason ?? null]),
      [
        ['session.lock', null, 'startup'],
        ['auth.badge.success', NURSE, null],
        ['auth.pin.success', NURSE, null],
        ['session.unlock', NURSE, 'strong-auth'],
        ['session.warning', NURSE, 'idle'],
        ['session.lock', NURSE, 'idle'],
        ['auth.badge.success', OTHER, null],
        ['auth.pin.success', OTHER, null],
        ['session.user_switch', OTHER, null],
        ['session.logoff', NURSE, 'user-switch'],
        ['session.unlock', OTHER, 'strong-auth'],
      ],
    );
    assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => startSeq + 1 + i));
    assert.deepEqual(events[8]?.details, { from: NURSE, to: OTHER });
  });
});
