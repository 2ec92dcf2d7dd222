// Migration 1: the event table (canonical body + hash + signature per seq), device
// metadata, the upstream acknowledgement log and per-lane delivery cursors.
import type { Migration } from './migration';

export const migration001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
      CREATE TABLE events (
        seq    INTEGER PRIMARY KEY,
        time   TEXT    NOT NULL,
        action TEXT    NOT NULL,
        body   TEXT    NOT NULL,  -- RFC 8785 canonical JSON, exactly as hashed
        hash   BLOB    NOT NULL,  -- SHA-256(prevHash || body)
        sig    BLOB    NOT NULL   -- Ed25519(hash) with the device key
      ) STRICT;
      CREATE TABLE acks (
        through_seq INTEGER PRIMARY KEY,
        acked_at_ms INTEGER NOT NULL,
        source      TEXT    NOT NULL
      ) STRICT;
      CREATE TABLE cursors (
        name          TEXT PRIMARY KEY,
        through_seq   INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      ) STRICT;
    `);
  },
};
