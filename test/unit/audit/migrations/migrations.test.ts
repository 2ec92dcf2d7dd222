import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3-multiple-ciphers';
import { MIGRATIONS, checkMigrationOrder, migrate, LATEST_VERSION } from '../../../../main/audit/migrations';
import { migration001 } from '../../../../main/audit/migrations/001-initial';
import { migration002 } from '../../../../main/audit/migrations/002-directory';
import { migration003 } from '../../../../main/audit/migrations/003-directory-mirror';

test('migrations are numbered 1, 2, 3… without gaps, and a misnumbered list is refused', () => {
  assert.doesNotThrow(() => checkMigrationOrder(MIGRATIONS));
  assert.equal(LATEST_VERSION, MIGRATIONS.length);
  assert.throws(() => checkMigrationOrder([{ ...migration001, version: 2 }]), /expected 1/);
});

const tablesOf = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

test('migration 001 creates the event, meta, ack and cursor tables and sets user_version', () => {
  const db = new Database(':memory:');
  assert.equal(migrate(db, ':memory:', [migration001]), 0);
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.deepEqual(tablesOf(db), ['acks', 'cursors', 'events', 'meta']);
  assert.equal(migrate(db, ':memory:', [migration001]), 1, 'running again is a no-op');
  db.close();
});

test('migration 002 adds the directory and the failure ledger to a version-1 database, keeping its events', () => {
  const db = new Database(':memory:');
  migrate(db, ':memory:', [migration001]);
  db.prepare("INSERT INTO events (seq, time, action, body, hash, sig) VALUES (1, 't', 'agent.start', '{}', x'00', x'00')").run();
  assert.equal(migrate(db, ':memory:', [migration001, migration002]), 1);
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  assert.deepEqual(tablesOf(db), ['acks', 'auth_failures', 'cursors', 'directory_badges', 'directory_credentials', 'directory_users', 'directory_version', 'events', 'meta']);
  assert.equal((db.prepare('SELECT version FROM directory_version').get() as { version: number }).version, 0);
  assert.equal((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 1);
  db.close();
});

test('migration 003 lets a local user carry an organisation-wide lockout', () => {
  const db = new Database(':memory:');
  migrate(db, ':memory:');
  assert.equal(db.pragma('user_version', { simple: true }), LATEST_VERSION);
  const columns = (db.prepare('PRAGMA table_info(directory_users)').all() as { name: string }[]).map((c) => c.name);
  assert.ok(columns.includes('locked_until'));
  db.close();
});

test('migration 004 keeps the collector version the directory copy last matched, unknown (NULL) at first', () => {
  const db = new Database(':memory:');
  migrate(db, ':memory:', MIGRATIONS.slice(0, 3));
  db.prepare('UPDATE directory_version SET version = 7').run();
  assert.equal(migrate(db, ':memory:'), 3);
  assert.deepEqual(db.prepare('SELECT version, synced FROM directory_version').get(), { version: 7, synced: null });
  db.close();
});

test('all pending migrations run in one transaction: a failing one leaves the schema untouched', () => {
  const db = new Database(':memory:');
  const broken = [migration001, migration002, migration003, { version: 4, name: 'broken', up: () => { throw new Error('boom'); } }];
  assert.throws(() => migrate(db, ':memory:', broken), /boom/);
  assert.equal(db.pragma('user_version', { simple: true }), 0);
  assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n, 0);
  db.close();
});

test('a database from a newer agent is refused with both versions named', () => {
  const db = new Database(':memory:');
  db.pragma('user_version = 7');
  assert.throws(() => migrate(db, '/var/lib/x/audit.db'), /schema version 7, newer than this agent understands \(4\)/);
  db.close();
});
