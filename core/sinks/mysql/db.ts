import { createPool, type Pool } from 'mysql2/promise';
import type { MysqlTarget } from './config';

/** What the writer needs of a database: a query that gives its rows back, and an end. */
export interface SqlRunner {
  query<T = unknown>(sql: string, values?: unknown[]): Promise<T>;
  end(): Promise<void>;
}

export interface PoolOptions {
  /** the writer runs one statement at a time; a second connection serves a check beside it */
  connectionLimit?: number;
  connectTimeoutMs?: number;
  /** a statement that takes longer fails (and its rows are spooled) instead of holding the node forever */
  queryTimeoutMs?: number;
}

/**
 * A mysql2 pool for one target. Only parameterised statements; no multipleStatements, no
 * insecureAuth. Connections that die (a server restart) leave the pool by themselves; the next
 * query opens a new one.
 */
export function openPool(t: MysqlTarget, opts: PoolOptions = {}): SqlRunner {
  const pool: Pool = createPool({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    connectionLimit: opts.connectionLimit ?? 2,
    maxIdle: opts.connectionLimit ?? 2,
    idleTimeout: 60_000,
    connectTimeout: opts.connectTimeoutMs ?? 10_000,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    waitForConnections: true,
    queueLimit: 0,
    charset: 'UTF8MB4_GENERAL_CI',
    timezone: 'Z',
    supportBigNumbers: true,
    decimalNumbers: true,
  });
  const timeoutMs = opts.queryTimeoutMs ?? 60_000;
  return {
    // mysql2's own per-query timeout leaves its timer running when the connection dies under the
    // query (a server restart); this one is always cleared, and a stuck connection is destroyed.
    async query<T>(sql: string, values?: unknown[]): Promise<T> {
      const conn = await pool.getConnection();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        conn.destroy();
      }, timeoutMs);
      try {
        const [rows] = await conn.query(sql, values);
        return rows as T;
      } catch (err) {
        if (timedOut)
          throw Object.assign(new Error(`no answer to a statement within ${timeoutMs} ms`), {
            code: 'PROTOCOL_SEQUENCE_TIMEOUT',
          });
        throw err;
      } finally {
        clearTimeout(timer);
        if (!timedOut) conn.release();
      }
    },
    end: () => pool.end(),
  };
}
