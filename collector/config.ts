// Where the collector keeps its data, from the command line: SQLite (embedded default) or
// PostgreSQL (production), and the organisation's directory key file.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { PostgresDb } from './store/postgres';
import type { SqlDb } from './store/sql';
import { SqliteDb } from './store/sqlite';

export class ConfigError extends Error {}

export function openDb(values: { db?: string; postgres?: string }): SqlDb {
  if (values.db && values.postgres) throw new ConfigError('use --db FILE (SQLite) or --postgres URL, not both');
  if (values.postgres) return new PostgresDb(values.postgres);
  if (values.db) return new SqliteDb(values.db);
  throw new ConfigError('say where the collector keeps its data: --db collector.db (SQLite) or --postgres postgresql://… (PostgreSQL)');
}

/**
 * The organisation's directory key: 32 random bytes in a file only the collector's account
 * may read. Created on first start when `create` is set; every collector instance of one
 * organisation must be given the same file.
 */
export function loadOrgKey(path: string, create: boolean): { key: Buffer; created: boolean } {
  if (!existsSync(path)) {
    if (!create) throw new ConfigError(`no organisation key at ${path}; start the collector once to create it, or copy it from the first instance`);
    const key = randomBytes(32);
    writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return { key, created: true };
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(`${path} does not hold a 32-byte base64 organisation key`);
  return { key, created: false };
}
