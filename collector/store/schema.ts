// The collector's schema, one migration list per dialect (same tables and meaning): the
// device registry, the verified events with each device's chain head, the directory with
// its monotonic version, applied changes (replay protection), the organisation-wide
// failure counts, the collector's own audit trail of administration, and the nonces of
// devices' signed requests (replay protection across collector instances).
import type { Dialect, SqlDb } from './sql';

interface Migration {
  readonly version: number;
  readonly sql: Readonly<Record<Dialect, string>>;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: {
      sqlite: `
        CREATE TABLE devices (device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, key_id TEXT NOT NULL, label TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('active', 'revoked')), registered_at TEXT NOT NULL) STRICT;
        CREATE TABLE device_heads (device_id TEXT PRIMARY KEY REFERENCES devices (device_id), seq INTEGER NOT NULL, hash TEXT NOT NULL) STRICT;
        CREATE TABLE events (device_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, sig TEXT NOT NULL, body TEXT NOT NULL,
          received_at INTEGER NOT NULL, PRIMARY KEY (device_id, seq)) STRICT, WITHOUT ROWID;
        CREATE TABLE dir_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL) STRICT;
        INSERT INTO dir_version (one, version) VALUES (1, 0);
        CREATE TABLE dir_users (id TEXT PRIMARY KEY, display_name TEXT NOT NULL, roles TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('active', 'revoked')), pin_verifier TEXT, failures INTEGER NOT NULL DEFAULT 0,
          locked_until INTEGER, created_at TEXT NOT NULL, version INTEGER NOT NULL) STRICT;
        CREATE INDEX dir_users_version ON dir_users (version);
        CREATE TABLE dir_badges (token TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES dir_users (id),
          state TEXT NOT NULL CHECK (state IN ('active', 'revoked')), created_at TEXT NOT NULL, version INTEGER NOT NULL) STRICT;
        CREATE INDEX dir_badges_user ON dir_badges (user_id);
        CREATE TABLE dir_credentials (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES dir_users (id), public_key TEXT NOT NULL,
          counter INTEGER NOT NULL, transports TEXT NOT NULL, label TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('active', 'revoked')),
          created_at TEXT NOT NULL, version INTEGER NOT NULL) STRICT;
        CREATE INDEX dir_credentials_user ON dir_credentials (user_id);
        CREATE TABLE applied_changes (id TEXT PRIMARY KEY, device_id TEXT NOT NULL, kind TEXT NOT NULL, applied_at INTEGER NOT NULL, version INTEGER NOT NULL) STRICT;
        CREATE TABLE admin_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          subject TEXT NOT NULL, details TEXT NOT NULL) STRICT;
      `,
      postgres: `
        CREATE TABLE devices (device_id TEXT PRIMARY KEY, public_key TEXT NOT NULL, key_id TEXT NOT NULL, label TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('active', 'revoked')), registered_at TEXT NOT NULL);
        CREATE TABLE device_heads (device_id TEXT PRIMARY KEY REFERENCES devices (device_id), seq BIGINT NOT NULL, hash TEXT NOT NULL);
        CREATE TABLE events (device_id TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, sig TEXT NOT NULL, body TEXT NOT NULL,
          received_at BIGINT NOT NULL, PRIMARY KEY (device_id, seq));
        CREATE TABLE dir_version (one INTEGER PRIMARY KEY CHECK (one = 1), version BIGINT NOT NULL);
        INSERT INTO dir_version (one, version) VALUES (1, 0);
        CREATE TABLE dir_users (id TEXT PRIMARY KEY, display_name TEXT NOT NULL, roles TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('active', 'revoked')), pin_verifier TEXT, failures INTEGER NOT NULL DEFAULT 0,
          locked_until BIGINT, created_at TEXT NOT NULL, version BIGINT NOT NULL);
        CREATE INDEX dir_users_version ON dir_users (version);
        CREATE TABLE dir_badges (token TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES dir_users (id),
          state TEXT NOT NULL CHECK (state IN ('active', 'revoked')), created_at TEXT NOT NULL, version BIGINT NOT NULL);
        CREATE INDEX dir_badges_user ON dir_badges (user_id);
        CREATE TABLE dir_credentials (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES dir_users (id), public_key TEXT NOT NULL,
          counter BIGINT NOT NULL, transports TEXT NOT NULL, label TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('active', 'revoked')),
          created_at TEXT NOT NULL, version BIGINT NOT NULL);
        CREATE INDEX dir_credentials_user ON dir_credentials (user_id);
        CREATE TABLE applied_changes (id TEXT PRIMARY KEY, device_id TEXT NOT NULL, kind TEXT NOT NULL, applied_at BIGINT NOT NULL, version BIGINT NOT NULL);
        CREATE TABLE admin_audit (id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
          subject TEXT NOT NULL, details TEXT NOT NULL);
      `,
    },
  },
  {
    // The nonces of devices' signed requests, shared by every collector on the database, so
    // that a request replayed to another instance is refused as it is by the one that took it.
    version: 2,
    sql: {
      sqlite: `
        CREATE TABLE request_nonces (device_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_at INTEGER NOT NULL,
          PRIMARY KEY (device_id, nonce)) STRICT, WITHOUT ROWID;
        CREATE INDEX request_nonces_seen ON request_nonces (seen_at);
      `,
      postgres: `
        CREATE TABLE request_nonces (device_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_at BIGINT NOT NULL,
          PRIMARY KEY (device_id, nonce));
        CREATE INDEX request_nonces_seen ON request_nonces (seen_at);
      `,
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to the latest schema in one transaction. Several collector instances
 * starting at once on one PostgreSQL database: the first takes the lock, the others wait
 * and then find the work done. A database from a newer collector is refused.
 */
export async function migrateCollector(db: SqlDb): Promise<void> {
  await db.tx(async (t) => {
    // One migrating instance at a time (DDL is transactional in PostgreSQL; the lock ends with the transaction).
    if (t.dialect === 'postgres') await t.exec("SELECT pg_advisory_xact_lock(hashtext('clinical-workstation-collector/migrate'))");
    await t.exec('CREATE TABLE IF NOT EXISTS schema_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)');
    const row = await t.get<{ version: number }>('SELECT version FROM schema_version WHERE one = 1');
    const found = row?.version ?? 0;
    if (found > SCHEMA_VERSION) {
      throw new Error(`${db.description} has collector schema version ${found}, newer than this collector (${SCHEMA_VERSION}); run the newer collector.`);
    }
    for (const m of MIGRATIONS) if (m.version > found) await t.exec(m.sql[t.dialect]);
    if (found === 0) await t.run('INSERT INTO schema_version (one, version) VALUES (1, $1)', [SCHEMA_VERSION]);
    else if (found < SCHEMA_VERSION) await t.run('UPDATE schema_version SET version = $1 WHERE one = 1', [SCHEMA_VERSION]);
  });
}
