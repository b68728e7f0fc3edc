import { z } from 'zod';
import { describeZodError } from '../../config/schema';

/** Where and how to write: what the node's settings and the `mysql://` URL come down to. */
export interface MysqlTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export interface MysqlSinkConfig {
  target: MysqlTarget;
  /** put before `sensors` and `readings`; letters, digits and _ only, so it never needs quoting tricks */
  prefix: string;
  /** rows per INSERT */
  batchSize: number;
  /** the longest a reading waits for its batch to fill, ms */
  batchIntervalMs: number;
}

const DEFAULT_PREFIX = 'flm_';
export const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_BATCH_INTERVAL_S = 1;
const DEFAULT_PORT = 3306;
/** One INSERT carries at most this many rows: well under max_allowed_packet (16 MiB on MariaDB, 64 MiB on MySQL 8). */
const MAX_BATCH_SIZE = 10_000;

const identifier = z.string().regex(/^[A-Za-z0-9_$]{1,64}$/, 'letters, digits, _ and $ only (1 to 64)');

const targetSchema = z.object({
  host: z.string().min(1, 'no host'),
  port: z.number().int().min(1).max(65535),
  database: identifier,
  user: z.string().min(1, "no user: put it in the URL or in the node's credentials").max(80),
  password: z.string(),
});

const configSchema = z.object({
  target: targetSchema,
  prefix: z.string().regex(/^[A-Za-z0-9_]{0,32}$/, 'table prefix: letters, digits and _ only, at most 32'),
  batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE),
  batchIntervalMs: z.number().min(10).max(3_600_000),
});

export interface MysqlSettings {
  /** `mysql://user:pass@host:port/db`; user and password may also come separately */
  url: string;
  user?: string;
  password?: string;
  prefix?: string;
  batchSize?: number;
  batchIntervalS?: number;
}

/**
 * The URL's parts; user and password given apart (the node's credentials) take precedence over
 * the URL's. Throws a message that says what is wrong, never echoing the password.
 */
export function parseMysqlUrl(
  url: string,
): Omit<MysqlTarget, 'user' | 'password'> & { user: string; password: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('database URL: not a URL; expected mysql://user:password@host:port/database');
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:')
    throw new Error(`database URL: scheme must be mysql:// (got ${u.protocol}//)`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database || database.includes('/'))
    throw new Error('database URL: no database name; expected mysql://user:password@host:port/database');
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : DEFAULT_PORT,
    database,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
}

export function mysqlSinkConfig(s: MysqlSettings): MysqlSinkConfig {
  const fromUrl = parseMysqlUrl(s.url);
  const input = {
    target: { ...fromUrl, user: s.user || fromUrl.user, password: s.password || fromUrl.password },
    prefix: s.prefix ?? DEFAULT_PREFIX,
    batchSize: s.batchSize ?? DEFAULT_BATCH_SIZE,
    batchIntervalMs: (s.batchIntervalS ?? DEFAULT_BATCH_INTERVAL_S) * 1000,
  };
  const r = configSchema.safeParse(input);
  if (!r.success) throw new Error(`MySQL settings: ${describeZodError(r.error)}`);
  return r.data;
}

/** `user@host:port/db`, for logs and status: everything but the password. */
export function describeTarget(t: MysqlTarget): string {
  return `${t.user}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}/${t.database}`;
}
