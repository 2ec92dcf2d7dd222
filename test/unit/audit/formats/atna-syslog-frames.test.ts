// AtnaSyslogEncoder.frames: a batch as one buffer of octet-counted frames, the same bytes as
// framing each event on its own; written into a caller's buffer when it fits (the syslog
// lane reuses one per connection) and into a fresh one, never a shared pool slice, when not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_ACTIONS } from '../../../../main/audit/catalog';
import { AtnaSyslogEncoder, atnaSyslogFrame, atnaSyslogMessage } from '../../../../main/audit/formats/atna-syslog';
import { OctetCountedDecoder } from '../../../../main/audit/formats/rfc5424';
import { SyntheticChain, sampleInput } from '../../../support/atna-events';

const options = { appName: 'cwa', hostname: 'ws-frames', processId: 4242 };
const chain = new SyntheticChain('ws-frames');
const batch = AUDIT_ACTIONS.map((action, i) => chain.next(sampleInput(action, i)).sealed);
const expected = Buffer.concat(batch.map((e) => atnaSyslogFrame(e, options)));

test('a batch is the concatenation of the frames of its events', () => {
  assert.deepEqual(new AtnaSyslogEncoder(options).frames(batch), expected);
});

test('into a buffer that fits: a view of it with the same bytes; reused again, the bytes are the new batch', () => {
  const encoder = new AtnaSyslogEncoder(options);
  const scratch = Buffer.alloc(expected.length + 4096, 0x55);
  const first = encoder.frames(batch, true, scratch);
  assert.equal(first.buffer, scratch.buffer);
  assert.deepEqual(first, expected);
  const second = encoder.frames(batch.slice(3, 9), true, scratch);
  assert.deepEqual(second, Buffer.concat(batch.slice(3, 9).map((e) => atnaSyslogFrame(e, options))));
});

test('into a buffer too small: a fresh buffer of its own, not a slice of the shared pool', () => {
  const encoder = new AtnaSyslogEncoder(options);
  const small = Buffer.alloc(16);
  const out = encoder.frames(batch.slice(0, 1), true, small);
  assert.notEqual(out.buffer, small.buffer);
  assert.equal(out.byteOffset, 0);
  assert.equal(out.buffer.byteLength, out.length, 'owns its memory, so a lane may keep it for reuse');
  assert.deepEqual(out, atnaSyslogFrame(batch[0]!, options));
});

test('frames of four- and five-digit lengths decode to the messages, into any buffer size', () => {
  // No details (the shortest ATNA message, still over 1,000 bytes), the usual ones, and
  // details of more than 10,000 bytes (a five-digit length), with a multi-byte user id: the
  // encoder learns each length by writing and moves a message whose prefix is not four
  // digits; near a buffer's end it counts instead, and it keeps a buffer that is large enough.
  const sizes = new SyntheticChain('ws-sizes');
  const events = [
    sizes.next({ action: 'session.lock', user: null, method: null, details: {} }).sealed,
    sizes.next(sampleInput('session.unlock', 1)).sealed,
    sizes.next({ action: 'session.unlock', user: 'nurse-zoë-ångström-漢字', method: 'badge', details: { note: 'é漢🩺'.repeat(1_500) } }).sealed,
    sizes.next(sampleInput('auth.pin.failure', 2)).sealed,
  ];
  const messages = events.map((e) => atnaSyslogMessage(e, options));
  assert.ok(messages.every((m) => m.length >= 1_000), 'an ATNA message is never under 1,000 bytes');
  assert.ok(messages.some((m) => m.length >= 10_000) && messages.some((m) => m.length < 10_000));
  assert.ok(messages.some((m) => m.toString('utf8').includes('ångström-漢字')), 'multi-byte text is in a message');
  const total = messages.reduce((n, m) => n + String(m.length).length + 1 + m.length, 0);
  const encoder = new AtnaSyslogEncoder(options);
  for (const room of [0, 16, 2_000, total - 1, total, total + 5, total * 3]) {
    const into = Buffer.alloc(room, 0x55);
    const out = encoder.frames(events, true, into);
    assert.equal(out.length, total, `into ${room} bytes`);
    assert.equal(out.buffer === into.buffer, room >= total, `into ${room} bytes: the caller's buffer is used when it is large enough`);
    assert.deepEqual(new OctetCountedDecoder().push(out), messages, `into ${room} bytes`);
  }
});
