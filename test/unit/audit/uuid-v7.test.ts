import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuidV7 } from '../../../main/audit/uuid-v7';

test('UUIDv7 carries the millisecond timestamp, version 7 and variant 10', () => {
  const ms = Date.UTC(2026, 10, 22, 3, 0, 0, 123);
  const id = uuidV7(ms);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), ms);
});

test('UUIDv7 ids are unique and sort by time', () => {
  const ids = new Set<string>();
  for (let i = 0; i < 5000; i++) ids.add(uuidV7(1_000_000 + i));
  assert.equal(ids.size, 5000);
  assert.ok(uuidV7(2_000_000) > uuidV7(1_999_999));
});
