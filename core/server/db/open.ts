import type { CfgSource } from '../store/types';
import { MysqlRegistry } from './mysql-registry';
import { MysqlReadingStore } from './mysql-store';
import { describeDbError, isUnreachable, openServerDb, type ServerDbOptions } from './pool';
import { ensureSchema } from './schema';

export interface SharedStorageOptions extends ServerDbOptions {
  /** `mysql://user:password@host:port/database` */
  url: string;
  /** what goes into `h.cfg` of served blocks; given the registry */
  cfg?: (registry: MysqlRegistry) => CfgSource;
  now?: () => number;
  /** see MysqlStoreOptions */
  sealAfter?: number;
  pingMs?: number;
  onError?: (err: Error) => void;
}

/**
 * The registry and the reading store of a server instance on the shared database. A database
 * that refuses the login, the privileges or the database name is a mistake to fix: the start
 * fails with words saying which. A database that does not answer yet is not: the instance
 * starts, `/health` answers 503 and ingestion 503 until it answers, then the tables are made and
 * the registry read.
 */
export async function openSharedStorage(
  opts: SharedStorageOptions,
): Promise<{ registry: MysqlRegistry; store: MysqlReadingStore }> {
  const db = openServerDb(opts.url, opts);
  const registry = MysqlRegistry.unloaded(db);
  let ready = false;
  const prepare = async (): Promise<void> => {
    if (ready) return;
    await ensureSchema(db);
    await registry.reload();
    ready = true;
  };
  try {
    await prepare();
  } catch (err) {
    if (!isUnreachable(err)) {
      await db.end().catch(() => undefined);
      throw new Error(`server database: ${describeDbError(err, db.database).message}`);
    }
    opts.onError?.(new Error(`server database: ${describeDbError(err, db.database).message}; waiting for it`));
  }
  const store = MysqlReadingStore.open(
    {
      db,
      prepare,
      ...(opts.cfg ? { cfg: opts.cfg(registry) } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.sealAfter !== undefined ? { sealAfter: opts.sealAfter } : {}),
      ...(opts.pingMs !== undefined ? { pingMs: opts.pingMs } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
    },
    ready,
  );
  return { registry, store };
}

/** The registry for `flm server ... --db URL`; `close()` ends its connection. */
export async function openDbRegistry(url: string): Promise<MysqlRegistry> {
  const db = openServerDb(url, { connectionLimit: 1, connectTimeoutMs: 10_000 });
  try {
    await ensureSchema(db);
    const registry = MysqlRegistry.unloaded(db, true);
    await registry.reload();
    return registry;
  } catch (err) {
    await db.end().catch(() => undefined);
    throw new Error(`server database: ${describeDbError(err, db.database).message}`);
  }
}
