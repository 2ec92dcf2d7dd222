// The one request entry: unknown channels and bad payloads are refused with the field only
// (never the value), and nothing a page sends can make it throw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { handleRequest, isRequestChannel, type Handlers } from '../../main/agent-handlers';
import { REQUEST_CHANNELS } from '../../preload/contract';

/** A table whose handlers record what reached them (every payload must have passed the schema). */
function recordingHandlers(): { handlers: Handlers; seen: { channel: string; payload: unknown }[] } {
  const seen: { channel: string; payload: unknown }[] = [];
  const handlers = Object.fromEntries(
    REQUEST_CHANNELS.map((c) => [
      c,
      async (payload: unknown) => {
        seen.push({ channel: c, payload });
        if (c === 'lock:cancel') throw new Error('boom');
        return { screen: 'locked', seq: 1 };
      },
    ]),
  ) as unknown as Handlers;
  return { handlers, seen };
}

describe('request handling', () => {
  it('refuses unknown channels, including prototype names', async () => {
    const { handlers, seen } = recordingHandlers();
    for (const c of ['lock:nope', '__proto__', 'constructor', 'toString', 42, null, undefined, 'lock:badge ']) {
      assert.deepEqual(await handleRequest(handlers, c, {}), { ok: false, error: 'unknown request' });
    }
    assert.equal(seen.length, 0);
    assert.equal(isRequestChannel('lock:badge'), true);
  });

  it('names the bad field but never echoes the value (a PIN or card number stays out of errors)', async () => {
    const { handlers, seen } = recordingHandlers();
    const r = await handleRequest(handlers, 'lock:pin', { pin: '48x6-secret' });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.includes('pin: digits only'));
    assert.ok(!r.ok && !r.error.includes('48x6'));
    const b = await handleRequest(handlers, 'lock:badge', { value: '0012345678', burstMs: 20, maxGapMs: 5, extra: true });
    assert.ok(!b.ok && !b.error.includes('0012345678'));
    assert.equal(seen.length, 0);
  });

  it('turns a handler fault into an error result', async () => {
    const { handlers } = recordingHandlers();
    const r = await handleRequest(handlers, 'lock:cancel', {});
    assert.deepEqual(r, { ok: false, error: 'the agent could not handle lock:cancel: boom' });
  });

  it('never throws and never lets a payload the schema refuses reach a handler (fuzz)', async () => {
    const { handlers, seen } = recordingHandlers();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constantFrom(...REQUEST_CHANNELS), fc.string()), fc.anything({ withObjectString: true, withNullPrototype: true }), async (channel, payload) => {
        const before = seen.length;
        const r = await handleRequest(handlers, channel, payload);
        assert.equal(typeof r.ok, 'boolean');
        if (seen.length > before) assert.ok(isRequestChannel(channel));
      }),
      { numRuns: 3000 },
    );
    // Whatever got through is exactly what the schemas allow.
    for (const s of seen) assert.ok(REQUEST_CHANNELS.includes(s.channel as never));
  });
});
