// The lock screen takes page requests in the order they come: a PIN still hashing when the
// next nurse taps her badge is judged first, against the nurse who typed it, and cannot
// write its screen back over the next nurse's. The real agent, driven through its handler
// table (what the lock page sends).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BrowserHarness } from '../../support/browser-harness';
import { DANA, SAM, seed } from '../../support/lock-driver';

let h: BrowserHarness;
before(async () => {
  h = await BrowserHarness.start({ label: 'lock-order', browser: false });
  await seed(h, DANA, SAM);
});
after(() => h?.stop());

type View = { readonly screen: string; readonly user?: { readonly displayName: string }; readonly wrong?: boolean };

test("a badge tapped while the previous nurse's wrong PIN is being checked: her failure is hers, and the screen is the new nurse's", async () => {
  const tap = (await h.request('lock:badge', { value: DANA.badge, burstMs: 100, maxGapMs: 10 })) as View;
  assert.equal(tap.screen, 'pin');
  // Dana's wrong PIN and Sam's tap, sent together: the PIN takes about 150 ms to hash.
  const [pin, next] = (await Promise.all([h.request('lock:pin', { pin: '1593' }), h.request('lock:badge', { value: SAM.badge, burstMs: 100, maxGapMs: 10 })])) as [View, View];
  assert.deepEqual([pin.screen, pin.user?.displayName, pin.wrong], ['pin', DANA.displayName, true], "Dana's answer is about Dana");
  assert.deepEqual([next.screen, next.user?.displayName, next.wrong], ['pin', SAM.displayName, false]);
  const now = h.agent.lockScreen!.current() as View;
  assert.deepEqual([now.screen, now.user?.displayName], ['pin', SAM.displayName], "the screen is Sam's");
  // Sam's own PIN works and finds all his tries left: nothing was counted against him.
  assert.equal((next as { triesLeft?: number }).triesLeft, h.agent.policy().auth.pin.maxFailures);
  const signedIn = (await h.request('lock:pin', { pin: SAM.pin })) as View;
  assert.equal(signedIn.screen, 'unlocked');
  assert.equal(h.agent.status().session?.owner, SAM.id);
});
