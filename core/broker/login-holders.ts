import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The client ids held by logged-in clients: connected now, or kept as a persistent session
 * (clean session off), whose subscriptions and queue are theirs. An anonymous client may not
 * take such an id (AccessPolicy.mayTakeOver). `token` tells one connection from a later one
 * with the same id, so the older one's disconnect does not free the newer one's hold.
 */
export interface LoginHolders {
  holds(id: string): Promise<boolean>;
  loggedIn(id: string, token: object, persistent: boolean): void;
  disconnected(id: string, token: object): void;
}

/** One broker process: everything is known here. */
export class LocalLoginHolders implements LoginHolders {
  private readonly connected = new Map<string, object>();
  private readonly sessions = new Set<string>();

  holds(id: string): Promise<boolean> {
    return Promise.resolve(this.connected.has(id) || this.sessions.has(id));
  }

  loggedIn(id: string, token: object, persistent: boolean): void {
    this.connected.set(id, token);
    if (persistent) this.sessions.add(id);
    else this.sessions.delete(id);
  }

  disconnected(id: string, token: object): void {
    if (this.connected.get(id) === token) this.connected.delete(id);
  }
}

/** Field `id` of this hash: `session` for a persistent session, else the connection's mark. */
const HASH = 'flm:broker:logins';

/** Delete the hold only when it is still this connection's (a newer one elsewhere keeps its own). */
const RELEASE = `if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('hdel', KEYS[1], ARGV[1]) end return 0`;

/**
 * Several instances on one Redis: a client logged in on one instance holds its id on all of
 * them. A hold of an instance that died without a disconnect stays until that id logs in again
 * (clean session) and leaves: the id stays closed to anonymous clients, the safe side.
 */
export class RedisLoginHolders implements LoginHolders {
  private readonly marks = new WeakMap<object, string>();
  private readonly instance = randomBytes(6).toString('hex');
  private counter = 0;

  constructor(private readonly redis: Redis) {}

  async holds(id: string): Promise<boolean> {
    return (await this.redis.hexists(HASH, id)) === 1;
  }

  loggedIn(id: string, token: object, persistent: boolean): void {
    const mark = persistent ? 'session' : `live:${this.instance}:${++this.counter}`;
    this.marks.set(token, mark);
    // Best effort: when Redis is away the login itself was refused before getting here.
    this.redis.hset(HASH, id, mark).catch(() => {});
  }

  disconnected(id: string, token: object): void {
    const mark = this.marks.get(token);
    if (!mark || mark === 'session') return;
    this.redis.eval(RELEASE, 1, HASH, id, mark).catch(() => {});
  }
}
