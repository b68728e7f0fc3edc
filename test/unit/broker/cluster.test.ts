import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../../core/broker/embedded-broker';
import { PipelineBroker, type ClientMessage } from '../../../core/broker/pipeline-broker';
import { redisBackend, redisLabel } from '../../../core/broker/cluster';
import { healthReport } from '../../../core/util/health';
import {
  LOGIN,
  brokerUrl,
  clusteredBroker,
  connectTo,
  knowsSubscription,
  redisForFile,
  until,
} from '../../support/clustered-brokers';

const redis = redisForFile();

/** Retained messages a fresh subscriber gets on `filter`, topic -> payload. */
async function retainedOn(b: EmbeddedBroker, filter: string, expect: number): Promise<Map<string, string>> {
  const c = await connectTo(b);
  const got = new Map<string, string>();
  c.on('message', (t, p, packet) => packet.retain && got.set(t, p.toString()));
  await c.subscribeAsync(filter);
  await until(`${expect} retained on ${filter}`, () => got.size >= expect);
  await c.endAsync(true);
  return got;
}

test('a Redis URL is checked and shown without its password', () => {
  assert.equal(redisLabel('redis://:pw@10.0.0.2:6380/2'), '10.0.0.2:6380/2');
  assert.throws(() => redisLabel('http://x'), /not a Redis URL/);
  assert.throws(() => redisLabel('nonsense'), /not a Redis URL/);
});

test('Redis that does not answer fails the start with a clear error', async () => {
  await assert.rejects(
    redisBackend('redis://127.0.0.1:1', { connectTimeoutMs: 1500 }),
    /cannot reach Redis at 127\.0\.0\.1:1/,
  );
});

test('two instances: publishes, retained messages and the pipeline publish cross over', async () => {
  const a = await clusteredBroker(redis.url);
  const b = await clusteredBroker(redis.url);
  try {
    const sub = await connectTo(b);
    const got: string[] = [];
    sub.on('message', (t, p) => got.push(`${t}=${p}`));
    await sub.subscribeAsync('x/#', { qos: 1 });
    const pub = await connectTo(a, LOGIN);
    for (let i = 0; i < 50; i++) await pub.publishAsync('x/live', String(i), { qos: 1 });
    await a.publish('x/pipeline', 'from-a');
    await until('51 messages on b', () => got.length >= 51);
    assert.deepEqual(
      got.slice(0, 50),
      Array.from({ length: 50 }, (_, i) => `x/live=${i}`),
    );
    assert.ok(got.includes('x/pipeline=from-a'));
    // retained on one, seen by a new subscriber on either
    await pub.publishAsync('x/ret/1', 'one', { retain: true, qos: 1 });
    await b.publish('x/ret/2', 'two', { retain: true });
    const onA = await retainedOn(a, 'x/ret/#', 2);
    const onB = await retainedOn(b, 'x/ret/#', 2);
    assert.deepEqual([...onA].sort(), [...onB].sort());
    assert.equal(onA.get('x/ret/1'), 'one');
    await pub.endAsync(true);
    await sub.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
  }
});

test('a persistent QoS 1 session moves: what was published while away arrives on the other instance', async () => {
  // Published on the instance the session comes back to. This lost messages in about 1 run of 5
  // while aedes acknowledged before storing: the last publishes were still on their way when the
  // session came back, reached it before its CONNACK, and mqtt.js never saw the CONNACK
  // (durable-ack.test.ts and session-resume.test.ts show both parts alone).
  const a = await clusteredBroker(redis.url);
  const b = await clusteredBroker(redis.url);
  try {
    const id = 'mover-1';
    const first = await connectTo(a, { clientId: id, clean: false, ...LOGIN });
    await first.subscribeAsync('move/#', { qos: 1 });
    await first.endAsync(true);
    // The move starts once the first instance has let the client go: publishes it still saw as
    // live would be a different case (in flight, not queued), and a loaded machine can be slow here.
    await until('the first instance to let the client go', () => a.aedes.connectedClients === 0);
    // A subscription reaches the other instances' copy of the subscriptions through Redis a moment
    // later (aedes-persistence-redis); what is published there before is not queued for the client.
    await until('the other instance to know the subscription', () => knowsSubscription(b, 'move/n', id));
    const pub = await connectTo(b, LOGIN);
    for (let i = 0; i < 20; i++) await pub.publishAsync('move/n', String(i), { qos: 1 });
    const got: string[] = [];
    const back = mqtt.connect(brokerUrl(b), { clientId: id, clean: false, reconnectPeriod: 0, ...LOGIN });
    back.on('message', (_t, p) => got.push(p.toString()));
    await until(`20 queued messages after the move (got ${got.length})`, () => got.length >= 20, 30_000).catch((e) => {
      throw new Error(`${(e as Error).message}: ${got.join(',')}`);
    });
    assert.deepEqual(
      got,
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
    await back.endAsync(true);
    await pub.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
  }
});

test("an anonymous client cannot take a logged-in client's id on another instance", async () => {
  const a = await clusteredBroker(redis.url);
  const b = await clusteredBroker(redis.url);
  try {
    const owner = await connectTo(a, { clientId: 'owned', ...LOGIN });
    await assert.rejects(connectTo(b, { clientId: 'owned' }), /Identifier rejected/i);
    assert.equal(owner.connected, true);
    // a logged-in newcomer may (MQTT's newer-wins), and the old connection is closed
    const closed = new Promise<void>((r) => owner.once('close', () => r()));
    const again = await connectTo(b, { clientId: 'owned', ...LOGIN });
    await closed;
    await again.endAsync(true);
    // after a clean logged-in client leaves, the id is free again
    await new Promise((r) => setTimeout(r, 300)); // the release travels to Redis
    const anon = await connectTo(b, { clientId: 'owned' });
    await anon.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
  }
});

test('HA birth published on one instance comes out of the pipeline broker of another', async () => {
  const outs: Array<{ node: string; m: ClientMessage }> = [];
  const make = (node: string) =>
    PipelineBroker.start(
      {
        host: '127.0.0.1',
        port: 0,
        wsPort: null,
        access: { mode: 'read-only-anonymous' },
        outFilters: ['homeassistant/status'],
        redisUrl: redis.url,
        onStatus: () => {},
        onRefusal: () => {},
        onListenerError: () => {},
        onOut: (m) => outs.push({ node, m }),
      },
      () => false,
    );
  const one = (await make('one'))!;
  const two = (await make('two'))!;
  try {
    const port = Number(/:(\d+)/.exec(two.label)![1]);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    await c.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await until('birth on both', () => outs.length >= 2);
    assert.deepEqual(outs.map((o) => o.node).sort(), ['one', 'two']);
    assert.equal(outs[0]!.m.payload, 'online');
    await c.endAsync(true);
    assert.equal(healthReport().ok, true);
  } finally {
    await one.close(3000);
    await two.close(3000);
  }
  assert.equal(healthReport().ok, false, 'nothing registered after close');
});

test('Redis down: logins and QoS 1 publishes are refused, nothing is acknowledged; back up, it works again', async () => {
  const a = await clusteredBroker(redis.url);
  try {
    const pub = await connectTo(a, { ...LOGIN, clientId: 'pub-down' });
    await pub.publishAsync('down/before', 'x', { qos: 1 });
    // a subscriber that only listens is cut after a few seconds, so it goes to an instance with Redis
    const listener = await connectTo(a);
    await listener.subscribeAsync('down/#');
    const listenerCut = new Promise<void>((r) => listener.once('close', () => r()));
    assert.equal(a.healthy(), true);
    await redis.stop();
    await until('broker sees Redis gone', () => !a.healthy());
    // a QoS 1 publish now is not acknowledged: the connection closes instead
    const closed = new Promise<boolean>((r) => pub.once('close', () => r(true)));
    const acked = pub.publishAsync('down/during', 'lost?', { qos: 1 }).then(
      () => false,
      () => true,
    );
    assert.equal(await Promise.race([closed, acked]), true, 'no PUBACK while Redis is down');
    pub.end(true);
    await assert.rejects(connectTo(a, LOGIN), /Server unavailable/i);
    await assert.rejects(a.publish('down/pipeline', 'x'), /unreachable/);
    assert.ok((a.refusals.get('store') ?? 0) >= 2);
    await listenerCut;
    listener.end(true);
    await redis.again();
    await until('broker sees Redis back', () => a.healthy(), 20_000);
    const sub = await connectTo(a);
    const got: string[] = [];
    sub.on('message', (_t, p) => got.push(p.toString()));
    await sub.subscribeAsync('up/#');
    const pub2 = await connectTo(a, LOGIN);
    await pub2.publishAsync('up/after', 'back', { qos: 1 });
    await until('message after Redis came back', () => got.length >= 1);
    await pub2.endAsync(true);
    await sub.endAsync(true);
  } finally {
    await a.close(3000);
  }
});

test('close is bounded even while Redis is away', async () => {
  const a = await clusteredBroker(redis.url);
  const c = await connectTo(a);
  await redis.stop();
  const t0 = Date.now();
  await a.close(3000);
  assert.ok(Date.now() - t0 < 6000, `closed in ${Date.now() - t0} ms`);
  c.end(true);
  await redis.again();
});
