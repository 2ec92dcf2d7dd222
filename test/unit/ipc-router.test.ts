// The IPC router: only the main frame of the agent's own windows on the agent's origin is
// heard; random channels, payloads and senders never make it throw, and the handlers only
// ever see payloads the contract's schemas accept.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Handlers } from '../../main/agent-handlers';
import { REFUSED, route, type SenderInfo } from '../../main/ipc-router';
import { REQUEST_CHANNELS, REQUESTS } from '../../preload/contract';

const ORIGIN = 'http://localhost';
const OWN = new Set([7, 8]);

function recording(): { handlers: Handlers; seen: { channel: string; payload: unknown }[] } {
  const seen: { channel: string; payload: unknown }[] = [];
  const handlers = Object.fromEntries(REQUEST_CHANNELS.map((c) => [c, async (payload: unknown) => (seen.push({ channel: c, payload }), { screen: 'locked', seq: 1 })])) as unknown as Handlers;
  return { handlers, seen };
}

const good: SenderInfo = { webContentsId: 7, frameUrl: 'http://localhost/lock/index.html', isMainFrame: true };

describe('IPC router', () => {
  it('hears the main frame of an agent window on the agent origin', async () => {
    const { handlers, seen } = recording();
    const r = await route({ handlers, origin: () => ORIGIN, ownWindows: () => OWN }, good, 'lock:cancel', {});
    assert.equal(r.ok, true);
    assert.equal(seen.length, 1);
  });

  it('refuses sub-frames, other windows, other origins and frames that are gone, and says why (never the payload)', async () => {
    const { handlers, seen } = recording();
    const refused: string[] = [];
    const opts = { handlers, origin: () => ORIGIN, ownWindows: () => OWN, onRefused: (why: string) => refused.push(why) };
    for (const sender of [
      { ...good, isMainFrame: false },
      { ...good, webContentsId: 99 },
      { ...good, frameUrl: 'http://localhost:8080/lock/index.html' },
      { ...good, frameUrl: 'https://evil.example/' },
      { ...good, frameUrl: 'file:///etc/passwd' },
      { ...good, frameUrl: null },
      { ...good, frameUrl: 'not a url' },
    ]) {
      assert.deepEqual(await route(opts, sender, 'lock:pin', { pin: '4826' }), REFUSED);
    }
    assert.equal(seen.length, 0);
    assert.deepEqual(refused, ['a sub-frame', 'not an agent window', 'a frame on http://localhost:8080', 'a frame on https://evil.example', 'a frame on null', 'no frame', 'a frame without a URL']);
    assert.ok(!refused.join(' ').includes('4826'));
  });

  it('never throws, and handlers only see payloads the schemas accept (fuzz: channels, payloads and senders)', async () => {
    const { handlers, seen } = recording();
    const opts = { handlers, origin: () => ORIGIN, ownWindows: () => OWN };
    const sender = fc.record({
      webContentsId: fc.oneof(fc.constantFrom(7, 8), fc.integer()),
      frameUrl: fc.oneof(fc.constant(good.frameUrl), fc.constant(null), fc.webUrl(), fc.string()),
      isMainFrame: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(sender, fc.oneof(fc.constantFrom(...REQUEST_CHANNELS), fc.string(), fc.anything()), fc.anything({ withNullPrototype: true, withObjectString: true }), async (s, channel, payload) => {
        const r = await route(opts, s, channel, payload);
        assert.equal(typeof r.ok, 'boolean');
      }),
      { numRuns: 5000 },
    );
    for (const { channel, payload } of seen) assert.ok(REQUESTS[channel as keyof typeof REQUESTS].safeParse(payload).success, channel);
  });
});
