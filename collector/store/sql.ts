// The little SQL surface the collector needs, over SQLite (better-sqlite3, embedded
// default) and PostgreSQL (pg, production; several collector instances may share one
// database). Statements are written once with $1, $2… placeholders.
export type Dialect = 'sqlite' | 'postgres';
/** Arrays only for PostgreSQL (`= ANY($1::text[])`, `unnest`). */
export type SqlValue = string | number | bigint | null | Buffer | readonly string[] | readonly number[];

export interface SqlDb {
  readonly dialect: Dialect;
  readonly description: string;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ readonly changes: number }>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction that locks what it writes (SQLite: the database; PostgreSQL: the rows, FOR UPDATE). */
  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** ` FOR UPDATE` where the dialect locks rows (SQLite's write transaction locks the whole file). */
export function forUpdate(db: SqlDb): string {
  return db.dialect === 'postgres' ? ' FOR UPDATE' : '';
}

export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}
