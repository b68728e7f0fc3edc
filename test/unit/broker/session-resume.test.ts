import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../../core/broker/embedded-broker';
import { redisBackend } from '../../../core/broker/cluster';
import { startRedis, type TestRedis } from '../../support/redis';
import { StallProxy } from '../../support/stall-proxy';

// A persistent session coming back to an instance: CONNACK first, then its queue, then what is
// published meanwhile (core/broker/session-resume.ts). aedes re-subscribes the session before its
// CONNACK; instance B's Redis commands are held through a proxy right after that point, so a
// message published then is sure to reach B inside that window.

let redis: TestRedis;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.remove();
});

const LOGIN = { username: 'flm', password: 'secret' };

async function clusteredBroker(redisUrl: string): Promise<EmbeddedBroker> {
  return EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    access: { mode: 'read-only-anonymous', ...LOGIN },
    backend: await redisBackend(redisUrl),
  });
}

const connect = (b: EmbeddedBroker, opts: mqtt.IClientOptions = {}) =>
  mqtt.connectAsync(`mqtt://127.0.0.1:${b.tcpPort}`, { reconnectPeriod: 0, ...opts });

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether `b`'s copy of the subscriptions has `clientId` on `topic`. */
async function knows(b: EmbeddedBroker, topic: string, clientId: string): Promise<boolean> {
  const persistence = (b.aedes as unknown as { persistence: SubscriptionLookup }).persistence;
  const subs = await persistence.subscriptionsByTopic(topic).catch(() => []);
  return subs.some((s) => s.clientId === clientId);
}
interface SubscriptionLookup {
  subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string }>>;
}

test('a returning persistent session gets CONNACK, then its queue, then what was published while it came back', async () => {
  const proxy = await StallProxy.start(redis.port);
  const a = await clusteredBroker(redis.url);
  const b = await clusteredBroker(proxy.url);
  try {
    const id = 'returning-1';
    const first = await connect(a, { clientId: id, clean: false, ...LOGIN });
    await first.subscribeAsync('ret/#', { qos: 1 });
    await first.endAsync(true);
    await until('the first instance to let the client go', () => a.aedes.connectedClients === 0);
    await until('the other instance to know the subscription', () => knows(b, 'ret/n', id));
    const pub = await connect(a, LOGIN);
    for (let i = 0; i < 5; i++) await pub.publishAsync('ret/n', `queued ${i}`, { qos: 1 });

    // B re-subscribes the session, then removes its old will (the first command naming a will
    // key): from there B's store connection waits, inside the window before the CONNACK.
    proxy.holdFrom('will:');
    const seen: string[] = [];
    const back = mqtt.connect(`mqtt://127.0.0.1:${b.tcpPort}`, {
      clientId: id,
      clean: false,
      reconnectPeriod: 0,
      ...LOGIN,
    });
    back.on('packetreceive', (p) => {
      if (p.cmd === 'connack') seen.push('connack');
      if (p.cmd === 'publish') seen.push(p.payload.toString());
    });
    await until('B to reach the window before the CONNACK', () => proxy.heldText().includes(id));
    // QoS 0 goes out without touching the store, so nothing here holds it back but the fix.
    await pub.publishAsync('ret/n', 'live', { qos: 0 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seen, [], 'nothing before the CONNACK');
    proxy.release();
    await until(`everything (got ${seen.join(', ')})`, () => seen.length >= 7);
    assert.deepEqual(seen, ['connack', 'queued 0', 'queued 1', 'queued 2', 'queued 3', 'queued 4', 'live']);
    assert.equal(back.connected, true);
    await back.endAsync(true);
    await pub.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
    await proxy.close();
  }
});
