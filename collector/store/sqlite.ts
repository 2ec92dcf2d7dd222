// SQLite for the collector (the embedded default): one connection, WAL, synchronous=FULL;
// write transactions are serialized by a queue (better-sqlite3 is synchronous, and a
// transaction here may await verification between its statements).
import Database, { type Database as Db, type Statement } from 'better-sqlite3-multiple-ciphers';
import { StorageError, type SqlDb, type SqlValue } from './sql';

/** SQLite reads $1, $2… as named parameters "1", "2"…: bind the values by those names. */
function bind(params: readonly SqlValue[]): [Record<string, SqlValue>] | [] {
  return params.length === 0 ? [] : [Object.fromEntries(params.map((v, i) => [String(i + 1), v]))];
}

class SqliteTx implements SqlDb {
  readonly dialect = 'sqlite' as const;
  /** Prepared once per statement text (a busy collector runs the same few statements all day). */
  private readonly statements = new Map<string, Statement>();
  constructor(
    private readonly db: Db,
    readonly description: string,
  ) {}
  private prepare(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, s);
    }
    return s;
  }
  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.prepare(sql).all(...bind(params)) as T[];
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.prepare(sql).get(...bind(params)) as T | undefined;
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return { changes: this.prepare(sql).run(...bind(params)).changes };
  }
  async exec(sql: string): Promise<void> {
    this.db.exec(sql);
  }
  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    // Already inside the write transaction.
    return fn(this);
  }
  async close(): Promise<void> {}
}

export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly description: string;
  private readonly db: Db;
  private readonly inner: SqliteTx;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.description = `SQLite ${path}`;
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new StorageError(`cannot open the collector database ${path}: ${(err as Error).message}`, { cause: err });
    }
    this.inner = new SqliteTx(this.db, this.description);
  }

  // Reads wait for a write transaction in progress too: it may await between its statements.
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.queued(() => this.inner.all<T>(sql, params));
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.queued(() => this.inner.get<T>(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.queued(() => this.inner.run(sql, params));
  }
  exec(sql: string): Promise<void> {
    return this.queued(() => this.inner.exec(sql));
  }

  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    return this.queued(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.inner);
        this.db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    this.db.close();
  }

  private queued<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
