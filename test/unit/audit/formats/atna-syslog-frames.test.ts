// AtnaSyslogEncoder.frames: a batch as one buffer of octet-counted frames, the same bytes as
// framing each event on its own; written into a caller's buffer when it fits (the syslog
// lane reuses one per connection) and into a fresh one, never a shared pool slice, when not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_ACTIONS } from '../../../../main/audit/catalog';
import { AtnaSyslogEncoder, atnaSyslogFrame } from '../../../../main/audit/formats/atna-syslog';
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
