import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3-multiple-ciphers';
import { MIGRATIONS, checkMigrationOrder, migrate, LATEST_VERSION } from '../../../../main/audit/migrations';
import { migration001 } from '../../../../main/audit/migrations/001-initial';

test('migrations are numbered 1, 2, 3… without gaps, and a misnumbered list is refused', () => {
  assert.doesNotThrow(() => checkMigrationOrder(MIGRATIONS));
  assert.equal(LATEST_VERSION, MIGRATIONS.length);
  assert.throws(() => checkMigrationOrder([{ ...migration001, version: 2 }]), /expected 1/);
});

test('migration 001 creates the event, meta, ack and cursor tables and sets user_version', () => {
  const db = new Database(':memory:');
  assert.equal(migrate(db, ':memory:'), 0);
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  assert.deepEqual(tables, ['acks', 'cursors', 'events', 'meta']);
  assert.equal(migrate(db, ':memory:'), 1, 'running again is a no-op');
  db.close();
});

test('all pending migrations run in one transaction: a failing one leaves the schema untouched', () => {
  const db = new Database(':memory:');
  const broken = [migration001, { version: 2, name: 'broken', up: () => { throw new Error('boom'); } }];
  assert.throws(() => migrate(db, ':memory:', broken), /boom/);
  assert.equal(db.pragma('user_version', { simple: true }), 0);
  assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n, 0);
  db.close();
});

test('a database from a newer agent is refused with both versions named', () => {
  const db = new Database(':memory:');
  db.pragma('user_version = 7');
  assert.throws(() => migrate(db, '/var/lib/x/audit.db'), /schema version 7, newer than this agent understands \(1\)/);
  db.close();
});
