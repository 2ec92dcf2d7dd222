// Migration 2: the local directory (enrolled users, badge tokens, PIN verifiers, FIDO2
// credentials, each row stamped with the directory version of its last change) and the
// per-user failure ledger for lockouts, in the same encrypted database as the audit trail.
import type { Migration } from './migration';

export const migration002: Migration = {
  version: 2,
  name: 'directory',
  up(db) {
    db.exec(`
      CREATE TABLE directory_users (
        id           TEXT PRIMARY KEY,
        display_name TEXT    NOT NULL,
        roles        TEXT    NOT NULL,             -- JSON array of role names
        state        TEXT    NOT NULL CHECK (state IN ('active', 'revoked')),
        pin_verifier TEXT,                         -- scrypt1$N$r$p$salt$hash over HMAC(pepper, PIN)
        created_at   TEXT    NOT NULL,
        version      INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE directory_badges (
        token      TEXT PRIMARY KEY,               -- HMAC-SHA-256(badge key, card number), hex
        user_id    TEXT    NOT NULL REFERENCES directory_users (id),
        state      TEXT    NOT NULL CHECK (state IN ('active', 'revoked')),
        created_at TEXT    NOT NULL,
        version    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX directory_badges_user ON directory_badges (user_id);
      CREATE TABLE directory_credentials (
        id           TEXT PRIMARY KEY,             -- WebAuthn credential id, base64url
        user_id      TEXT    NOT NULL REFERENCES directory_users (id),
        public_key   BLOB    NOT NULL,             -- COSE public key
        counter      INTEGER NOT NULL,
        transports   TEXT    NOT NULL,             -- JSON array
        label        TEXT    NOT NULL,
        state        TEXT    NOT NULL CHECK (state IN ('active', 'revoked')),
        created_at   TEXT    NOT NULL,
        last_used_at TEXT,
        version      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX directory_credentials_user ON directory_credentials (user_id);
      CREATE TABLE directory_version (
        one     INTEGER PRIMARY KEY CHECK (one = 1),
        version INTEGER NOT NULL
      ) STRICT;
      INSERT INTO directory_version (one, version) VALUES (1, 0);
      CREATE TABLE auth_failures (
        user_id         TEXT PRIMARY KEY,
        failures        INTEGER NOT NULL,
        last_failure_ms INTEGER NOT NULL,
        locked_until_ms INTEGER
      ) STRICT;
    `);
  },
};
