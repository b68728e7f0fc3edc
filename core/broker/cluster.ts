import { Redis, type RedisOptions } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { RedisLoginHolders, type LoginHolders } from './login-holders';

/**
 * What aedes needs to run as one of several instances sharing one MQTT namespace
 * (docs/cluster.md#what-goes-through-redis): publishes go through Redis pub/sub (mqemitter-redis),
 * retained messages, subscriptions, QoS 1 sessions and wills live in Redis
 * (aedes-persistence-redis), and the ids held by logged-in clients are shared so that no instance
 * lets an anonymous client take one over.
 */
export interface BrokerBackend {
  /** the aedes `mq` and `persistence` options */
  readonly mq: unknown;
  readonly persistence: unknown;
  readonly logins: LoginHolders;
  /** where it is, for logs (no password) */
  readonly label: string;
  /** can the instance take data now: every Redis connection is up */
  reachable(): boolean;
  /** the retained messages stored now: topic and stored bytes, for the retained budget */
  retainedSizes(): Promise<Array<[string, number]>>;
  /** after aedes closed (aedes closes the mq itself): frees every Redis connection, within `timeoutMs` */
  close(timeoutMs: number): Promise<void>;
}

export interface RedisBackendOptions {
  /** how long to wait for Redis at start before giving up */
  connectTimeoutMs?: number;
}

/** aedes-persistence-redis keeps retained messages in this hash, topic -> encoded packet. */
const RETAINED_HASH = 'retained';

/**
 * Connects to Redis at `url` (redis://[user:password@]host:port[/db], or rediss:// for TLS) and
 * builds the aedes parts on it. Rejects with a clear error when Redis does not answer in time.
 */
export async function redisBackend(url: string, opts: RedisBackendOptions = {}): Promise<BrokerBackend> {
  const where = redisLabel(url);
  const base: RedisOptions = {
    // While Redis is away, commands fail at once instead of waiting in a queue: the broker
    // then refuses logins and publishes (no PUBACK) rather than acknowledge what it cannot
    // store. Reconnection itself goes on in the background.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    lazyConnect: true,
  };
  // The subscriber keeps its queue: a SUBSCRIBE asked for during an outage is sent on reconnect.
  const sub = new Redis(url, { ...base, enableOfflineQueue: true, maxRetriesPerRequest: null });
  const pub = new Redis(url, base);
  const db = new Redis(url, base);
  const logins = new Redis(url, base);
  const all = [sub, pub, db, logins];
  // ioredis reports every failed reconnect as an error event; reachable() tells the state.
  for (const c of all) c.on('error', () => {});
  try {
    await withTimeout(
      Promise.all(all.map((c) => c.connect())),
      opts.connectTimeoutMs ?? 10_000,
      `Redis at ${where} did not answer`,
    );
  } catch (err) {
    for (const c of all) c.disconnect();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot reach Redis at ${where}: ${reason}`);
  }
  // mqemitter-redis closes with QUIT and does not handle its failure: with Redis away that is an
  // unhandled rejection. It fails quietly here; close() then cuts the connections.
  for (const c of [sub, pub]) {
    const quit = c.quit.bind(c);
    c.quit = (() => quit().catch(() => 'OK')) as typeof c.quit;
  }
  const mq = mqemitterRedis({ subConn: sub, pubConn: pub } as never);
  // mqemitter-redis reports connection errors on its own emitter; reachable() tells the state.
  (mq as unknown as { state: { on: (e: string, f: () => void) => void } }).state.on('error', () => {});
  const persistence = aedesPersistenceRedis({ conn: db });
  let closed = false;
  return {
    mq,
    persistence,
    logins: new RedisLoginHolders(logins),
    label: `Redis ${where}`,
    reachable: () => !closed && all.every((c) => c.status === 'ready'),
    async retainedSizes() {
      const topics = await db.hkeys(RETAINED_HASH);
      if (topics.length === 0) return [];
      const p = db.pipeline();
      for (const t of topics) p.hstrlen(RETAINED_HASH, t);
      const sizes = (await p.exec()) ?? [];
      return topics.map((t, i) => [t, Number(sizes[i]?.[1] ?? 0)] as [string, number]);
    },
    async close(timeoutMs) {
      if (closed) return;
      closed = true;
      const destroy = (persistence as { destroy: () => Promise<void> }).destroy();
      await withTimeout(destroy, timeoutMs, 'Redis close').catch(() => {});
      // Whatever did not end cleanly (Redis away, a QUIT never answered) is cut here.
      for (const c of all) c.disconnect();
    },
  };
}

/** The URL without its password, for logs and status. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    if (!/^rediss?:$/.test(u.protocol)) throw new Error('not redis');
    return `${u.hostname}:${u.port || 6379}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    throw new Error(`"${url}" is not a Redis URL (redis://host:port or rediss://host:port)`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
