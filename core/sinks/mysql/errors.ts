/**
 * Database errors in words a person can act on. Every kind is retried (the readings wait in the
 * spool), but only `unreachable` is expected to mend itself: the others need someone to change
 * a password, a grant or a table, and are reported as errors.
 */
export type DbErrorKind = 'auth' | 'privileges' | 'no-database' | 'schema' | 'unreachable' | 'other';

export interface DbError {
  kind: DbErrorKind;
  /** the clear message: "authentication failed: check user and password (…)" */
  message: string;
  /** the driver's code (ER_ACCESS_DENIED_ERROR, ECONNREFUSED, …) when there is one */
  code?: string;
}

/** What the node needs on its database, for the hint in a privilege error. */
const NEEDED_PRIVILEGES = 'SELECT, INSERT, UPDATE (and CREATE until its tables exist)';

/** A table that exists with a shape the node cannot write to. */
export class SchemaConflictError extends Error {
  override readonly name = 'SchemaConflictError';
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'POOL_CLOSED',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_CANT_LOCK',
  'ER_HOST_IS_BLOCKED',
  'ER_TOO_MANY_USER_CONNECTIONS',
]);
const AUTH = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
  'ER_PASSWORD_NO_MATCH',
  'AUTH_SWITCH_PLUGIN_ERROR',
]);
const PRIVILEGES = new Set([
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_PROCACCESS_DENIED_ERROR',
]);
const SCHEMA = new Set(['ER_NO_SUCH_TABLE', 'ER_BAD_FIELD_ERROR', 'ER_WRONG_VALUE_COUNT_ON_ROW']);
/** the server's numbers for the same, when a driver gives only those */
const BY_ERRNO: Record<number, string> = {
  1044: 'ER_DBACCESS_DENIED_ERROR',
  1045: 'ER_ACCESS_DENIED_ERROR',
  1049: 'ER_BAD_DB_ERROR',
  1142: 'ER_TABLEACCESS_DENIED_ERROR',
  1143: 'ER_COLUMNACCESS_DENIED_ERROR',
  1146: 'ER_NO_SUCH_TABLE',
  1227: 'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  1698: 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  1040: 'ER_CON_COUNT_ERROR',
  1053: 'ER_SERVER_SHUTDOWN',
  1927: 'ER_CONNECTION_KILLED',
};

interface DriverError {
  message?: string;
  code?: string;
  errno?: number;
  sqlMessage?: string;
  fatal?: boolean;
}

export function classifyDbError(err: unknown, database = ''): DbError {
  if (err instanceof SchemaConflictError) return { kind: 'schema', message: err.message };
  const e = (err && typeof err === 'object' ? err : { message: String(err) }) as DriverError;
  const code =
    typeof e.code === 'string' && e.code !== '' ? e.code : e.errno !== undefined ? BY_ERRNO[e.errno] : undefined;
  const said = (e.sqlMessage ?? e.message ?? String(err)).trim();
  const withCode = code ? { code } : {};
  if (code && AUTH.has(code))
    return { kind: 'auth', message: `authentication failed: check user and password (${said})`, ...withCode };
  if (code && PRIVILEGES.has(code))
    return { kind: 'privileges', message: `missing privileges: ${missing(code, said, database)}`, ...withCode };
  if (code === 'ER_BAD_DB_ERROR')
    return {
      kind: 'no-database',
      message: `database ${database ? `"${database}" ` : ''}does not exist: create it or fix the URL (${said})`,
      ...withCode,
    };
  if (code && SCHEMA.has(code))
    return { kind: 'schema', message: `table changed under the node: ${said}`, ...withCode };
  if ((code && UNREACHABLE.has(code)) || e.fatal)
    return { kind: 'unreachable', message: `database unreachable: ${said}`, ...withCode };
  return { kind: 'other', message: said, ...withCode };
}

/** "INSERT on table `flm`.`flm_readings` for 'x'@'h' (…needs…)": what is missing, as precisely as the server said. */
function missing(code: string, said: string, database: string): string {
  const hint = `(the node needs ${NEEDED_PRIVILEGES}${database ? ` on ${database}.*` : ''})`;
  if (code === 'ER_TABLEACCESS_DENIED_ERROR') {
    const m = /^(\w+) command denied to user (\S+) for table (.+)$/i.exec(said);
    if (m) return `${m[1]!.toUpperCase()} on table ${m[3]} for ${m[2]} ${hint}`;
  }
  if (code === 'ER_COLUMNACCESS_DENIED_ERROR') {
    const m = /^(\w+) command denied to user (\S+) for column (\S+) in table (.+)$/i.exec(said);
    if (m) return `${m[1]!.toUpperCase()} on column ${m[3]} of table ${m[4]} for ${m[2]} ${hint}`;
  }
  if (code === 'ER_DBACCESS_DENIED_ERROR') {
    const m = /^Access denied for user (\S+) to database (.+)$/i.exec(said);
    if (m) return `${m[1]} has no privileges on database ${m[2]} ${hint}`;
  }
  return `${said} ${hint}`;
}
