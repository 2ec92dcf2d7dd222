// PostgreSQL for the collector (production; several collector instances may share one
// database): a pool, one client per transaction, rows locked FOR UPDATE where the
// statements say so. BIGINT columns come back as numbers (all values stay below 2^53).
import pg from 'pg';
import { StorageError, type SqlDb, type SqlValue } from './sql';

pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

type Queryable = Pick<pg.Pool, 'query'>;

class PgClient implements SqlDb {
  readonly dialect = 'postgres' as const;
  constructor(
    protected readonly q: Queryable,
    readonly description: string,
  ) {}
  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.q.query(sql, params as unknown[])).rows as T[];
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.q.query(sql, params as unknown[])).rows[0] as T | undefined;
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return { changes: (await this.q.query(sql, params as unknown[])).rowCount ?? 0 };
  }
  async exec(sql: string): Promise<void> {
    await this.q.query(sql);
  }
  tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    return fn(this);
  }
  async close(): Promise<void> {}
}

export class PostgresDb extends PgClient {
  private readonly pool: pg.Pool;

  constructor(connectionString: string, opts: { max?: number } = {}) {
    const pool = new pg.Pool({ connectionString, max: opts.max ?? 8 });
    super(pool, `PostgreSQL ${redact(connectionString)}`);
    this.pool = pool;
    // An idle client losing its server must not crash the collector.
    pool.on('error', () => undefined);
  }

  override async tx<T>(fn: (db: SqlDb) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new StorageError(`cannot reach ${this.description}: ${(err as Error).message}`, { cause: err });
    }
    try {
      await client.query('BEGIN');
      const result = await fn(new PgClient(client, this.description));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  override async close(): Promise<void> {
    await this.pool.end();
  }
}

/** postgres://user:secret@host/db → postgres://user:***@host/db, for messages and status. */
export function redact(connectionString: string): string {
  return connectionString.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
