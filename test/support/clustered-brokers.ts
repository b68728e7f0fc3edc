import { before, after } from 'node:test';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../core/broker/embedded-broker';
import { redisBackend } from '../../core/broker/cluster';
import { startRedis, type TestRedis } from './redis';

/** The login every clustered test broker takes (anonymous clients may only read). */
export const LOGIN = { username: 'flm', password: 'secret' };

/** One private redis-server for the test file: started before its tests, removed after. */
export function redisForFile(): TestRedis {
  let redis: TestRedis | undefined;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.remove();
  });
  const started = (): TestRedis => {
    if (!redis) throw new Error('redis is started in before()');
    return redis;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    get pid() {
      return started().pid;
    },
    stop: () => started().stop(),
    again: () => started().again(),
    remove: () => started().remove(),
  };
}

/** An embedded broker on a free loopback port whose aedes shares Redis at `redisUrl`. */
export async function clusteredBroker(redisUrl: string): Promise<EmbeddedBroker> {
  return EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    access: { mode: 'read-only-anonymous', ...LOGIN },
    backend: await redisBackend(redisUrl),
  });
}

export const brokerUrl = (b: EmbeddedBroker) => `mqtt://127.0.0.1:${b.tcpPort}`;

export const connectTo = (b: EmbeddedBroker, opts: mqtt.IClientOptions = {}) =>
  mqtt.connectAsync(brokerUrl(b), { reconnectPeriod: 0, ...opts });

export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface SubscriptionLookup {
  subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string }>>;
}

/** Whether `b`'s copy of the subscriptions has `clientId` on `topic` (aedes 1.x: a promise). */
export async function knowsSubscription(b: EmbeddedBroker, topic: string, clientId: string): Promise<boolean> {
  const persistence = (b.aedes as unknown as { persistence: SubscriptionLookup }).persistence;
  const subs = await persistence.subscriptionsByTopic(topic).catch(() => []);
  return subs.some((s) => s.clientId === clientId);
}
