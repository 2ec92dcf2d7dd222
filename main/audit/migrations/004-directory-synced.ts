// Migration 4: where the local copy stands in the collector's numbering, apart from its own
// version. Changes made on this workstation while it followed no collector bump the local
// version too, so the local version alone cannot say what to pull next: `synced` is the
// collector version last applied, NULL when unknown (never synced, changed here since, or
// another collector). NULL means the next sync pulls the whole directory.
import type { Migration } from './migration';

export const migration004: Migration = {
  version: 4,
  name: 'directory-synced',
  up(db) {
    db.exec(`ALTER TABLE directory_version ADD COLUMN synced INTEGER;`);
  },
};
