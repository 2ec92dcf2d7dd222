// A numbered schema migration, applied on PRAGMA user_version.
import type { Database } from 'better-sqlite3-multiple-ciphers';

export interface Migration {
  /** 1, 2, 3…: the user_version after it ran. */
  readonly version: number;
  readonly name: string;
  up(db: Database): void;
}
