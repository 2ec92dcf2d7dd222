// The collector's two storage backends for tests that must pass on both: SQLite in a
// temporary folder, and a throwaway PostgreSQL server (one database per test).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PostgresDb } from '../../collector/store/postgres';
import type { SqlDb } from '../../collector/store/sql';
import { SqliteDb } from '../../collector/store/sqlite';
import { postgresMissing, PostgresServer } from './postgres';

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** Why this backend cannot run here (the suite is skipped with it), or null. */
  readonly missing: string | null;
  /** Starts what the backend needs (the PostgreSQL server); once per suite. */
  setUp(): Promise<void>;
  /** A fresh, empty database; `connect` opens (another) connection to that same one. */
  fresh(): { connect(): SqlDb; location: string };
  tearDown(): Promise<void>;
}

export function sqliteBackend(): Backend {
  let dir = '';
  return {
    name: 'sqlite',
    missing: null,
    async setUp() {
      dir = mkdtempSync(join(tmpdir(), 'cwa-collector-'));
    },
    fresh() {
      const path = join(dir, `${randomBytes(4).toString('hex')}.db`);
      return { connect: () => new SqliteDb(path), location: path };
    },
    async tearDown() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(): Backend {
  let server: PostgresServer | null = null;
  return {
    name: 'postgres',
    missing: postgresMissing(),
    async setUp() {
      server = await PostgresServer.start();
    },
    fresh() {
      const url = server!.createDatabase(`c_${randomBytes(4).toString('hex')}`);
      return { connect: () => new PostgresDb(url), location: url };
    },
    async tearDown() {
      server?.stop();
    },
  };
}

export const BACKENDS: readonly (() => Backend)[] = [sqliteBackend, postgresBackend];
