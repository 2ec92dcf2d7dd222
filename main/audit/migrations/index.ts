// Runs the audit schema migrations: numbered, strictly increasing, all pending ones in
// one transaction on PRAGMA user_version; a database from a newer agent is refused.
import type { Database } from 'better-sqlite3-multiple-ciphers';
import { AuditStoreError } from '../errors';
import type { Migration } from './migration';
import { migration001 } from './001-initial';
import { migration002 } from './002-directory';
import { migration003 } from './003-directory-mirror';
import { migration004 } from './004-directory-synced';

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004];

export function checkMigrationOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1}: versions must be 1, 2, 3… with no gap`);
  });
}

export const LATEST_VERSION = MIGRATIONS.length;

/** Brings `db` to the latest schema; returns the version it found. */
export function migrate(db: Database, path: string, migrations: readonly Migration[] = MIGRATIONS): number {
  checkMigrationOrder(migrations);
  const latest = migrations.length;
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > latest) {
    throw new AuditStoreError(
      'from-the-future',
      `The audit database ${path} has schema version ${found}, newer than this agent understands (${latest}). ` +
        'It was written by a newer agent version; install that version (or newer). The file was not changed.',
    );
  }
  if (found === latest) return found;
  db.transaction(() => {
    for (const m of migrations) if (m.version > found) m.up(db);
    db.pragma(`user_version = ${latest}`);
  }).immediate();
  return found;
}
