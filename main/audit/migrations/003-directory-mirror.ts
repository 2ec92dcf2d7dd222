// Migration 3: the local directory can mirror the collector's. A user may carry an
// organisation-wide lockout (set at the collector after failures anywhere).
import type { Migration } from './migration';

export const migration003: Migration = {
  version: 3,
  name: 'directory-mirror',
  up(db) {
    db.exec(`ALTER TABLE directory_users ADD COLUMN locked_until TEXT;`);
  },
};
