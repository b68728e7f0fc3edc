import { createPool, type Pool, type PoolConnection, type QueryValues } from 'mysql2/promise';
import { parseMysqlUrl } from '../../sinks/mysql/config';
import { classifyDbError, type DbError } from '../../sinks/mysql/errors';

/**
 * The connection pool of the server's shared database (docs/protocols/server.md#shared-database).
 * Every statement has a deadline: a database that stops answering turns into an error the HTTP
 * API answers 503 with, never into requests that hang. Connections that die (a server restart)
 * leave the pool; the next statement opens a new one.
 */
export interface ServerDb {
  /** one statement on any connection */
  query<T = unknown>(sql: Statement, values?: unknown): Promise<T>;
  /** `fn` inside one transaction: committed when it resolves, rolled back when it throws */
  transaction<T>(fn: (q: <R = unknown>(sql: Statement, values?: unknown) => Promise<R>) => Promise<T>): Promise<T>;
  /** the database name, for messages */
  readonly database: string;
  end(): Promise<void>;
}

/** SQL text, or with `rowsAsArray` for rows as arrays (long reads: less garbage per row). */
export type Statement = string | { sql: string; rowsAsArray?: boolean };

export interface ServerDbOptions {
  /** default 8: the HTTP API's concurrent writes; InnoDB commits them in groups */
  connectionLimit?: number;
  /** default 3 s: a database that is away is reported soon */
  connectTimeoutMs?: number;
  /** default 30 s: a statement (or transaction) that takes longer fails and its connection is cut */
  queryTimeoutMs?: number;
}

export function openServerDb(url: string, opts: ServerDbOptions = {}): ServerDb {
  const t = parseMysqlUrl(url);
  const limit = opts.connectionLimit ?? 8;
  const pool: Pool = createPool({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    connectionLimit: limit,
    maxIdle: limit,
    idleTimeout: 60_000,
    connectTimeout: opts.connectTimeoutMs ?? 3000,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    waitForConnections: true,
    // Bounded: beyond it a request is refused at once (503) instead of queueing without end.
    queueLimit: 1000,
    charset: 'UTF8MB4_GENERAL_CI',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  const timeoutMs = opts.queryTimeoutMs ?? 30_000;

  /** Run `fn` on a connection of its own, destroyed (not returned) when the deadline passes. */
  async function withConnection<T>(fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await pool.getConnection();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      conn.destroy();
    }, timeoutMs);
    try {
      return await fn(conn);
    } catch (err) {
      if (timedOut)
        throw Object.assign(new Error(`the database gave no answer within ${timeoutMs} ms`), {
          code: 'PROTOCOL_SEQUENCE_TIMEOUT',
        });
      // A connection whose server went away is not given back for the next statement to fail on.
      if ((err as { fatal?: boolean }).fatal) conn.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
      if (!timedOut) conn.release();
    }
  }

  return {
    database: t.database,
    query: <T>(sql: Statement, values?: unknown) => withConnection(async (conn) => (await run(conn, sql, values)) as T),
    transaction: (fn) =>
      withConnection(async (conn) => {
        await conn.beginTransaction();
        try {
          const out = await fn(async <R>(sql: Statement, values?: unknown) => (await run(conn, sql, values)) as R);
          await conn.commit();
          return out;
        } catch (err) {
          await conn.rollback().catch(() => undefined);
          throw err;
        }
      }),
    end: () => pool.end(),
  };
}

async function run(conn: PoolConnection, sql: Statement, values: unknown): Promise<unknown> {
  const v = values as QueryValues;
  const [rows] = typeof sql === 'string' ? await conn.query(sql, v) : await conn.query(sql, v);
  return rows;
}

/** Whether an error means "the database is away now" rather than a mistake in data or setup. */
export function isUnreachable(err: unknown): boolean {
  return classifyDbError(err).kind === 'unreachable';
}

/** The database error in words a person can act on. */
export function describeDbError(err: unknown, database: string): DbError {
  return classifyDbError(err, database);
}
