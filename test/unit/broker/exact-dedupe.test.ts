import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../../core/broker/embedded-broker';
import {
  LOGIN,
  clusteredBroker,
  connectTo as connect,
  knowsSubscription as knows,
  redisForFile,
  until,
} from '../../support/clustered-brokers';
import { StallProxy } from '../../support/stall-proxy';

const redis = redisForFile();

/**
 * Publishes on `probe` from `pub` until every one of `subs` got one: a clean session's
 * subscription is known to the other instance only once it subscribed its Redis channel.
 */
async function untilReached(pub: mqtt.MqttClient, probe: string, subs: string[][]): Promise<void> {
  await until(`${probe} to reach every subscriber`, async () => {
    await pub.publishAsync(probe, 'probe', { qos: 0 });
    await new Promise((r) => setTimeout(r, 50));
    return subs.every((got) => got.includes(`${probe} probe`));
  });
  for (const got of subs) got.length = 0;
}

/** `p`, or a clear failure when it does not settle within 10 s. */
async function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within 10 s`)), 10_000);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Every message a client gets, as `topic payload`. */
function record(c: mqtt.MqttClient): string[] {
  const got: string[] = [];
  c.on('message', (t, p) => got.push(`${t} ${p.toString()}`));
  return got;
}

test('publishes that finish out of order on Redis all reach the subscribers, on both instances', async () => {
  const proxy = await StallProxy.start(redis.port);
  const a = await clusteredBroker(proxy.url);
  const b = await clusteredBroker(redis.url);
  try {
    const onB = await connect(b);
    const onA = await connect(a);
    const gotB = record(onB);
    const gotA = record(onA);
    await onB.subscribeAsync('ooo/#', { qos: 1 });
    await onA.subscribeAsync('ooo/#', { qos: 1 });
    const slow = await connect(a, LOGIN);
    const fast = await connect(a, LOGIN);
    await untilReached(fast, 'ooo/probe', [gotA, gotB]);
    // The retained publish starts first (lower number) and waits for its store on A's Redis
    // connection; the plain one starts after it and reaches the subscribers first.
    proxy.holdFrom('ooo/slow');
    const slowDone = slow.publishAsync('ooo/slow', 'first', { qos: 1, retain: true });
    await until('the retained store to wait', () => proxy.heldText().includes('ooo/slow'));
    await fast.publishAsync('ooo/fast', 'second', { qos: 1 });
    await until('the plain publish on B', () => gotB.includes('ooo/fast second'));
    await until('the plain publish on A', () => gotA.includes('ooo/fast second'));
    proxy.release();
    await slowDone;
    await until(`the retained one on B (got ${gotB.join(', ')})`, () => gotB.includes('ooo/slow first'));
    await until(`the retained one on A (got ${gotA.join(', ')})`, () => gotA.includes('ooo/slow first'));
    // and nothing twice
    await fast.publishAsync('ooo/end', 'x', { qos: 1 });
    await until('the last one', () => gotB.includes('ooo/end x') && gotA.includes('ooo/end x'));
    assert.deepEqual(gotB, ['ooo/fast second', 'ooo/slow first', 'ooo/end x']);
    assert.deepEqual(gotA, ['ooo/fast second', 'ooo/slow first', 'ooo/end x']);
    for (const c of [onA, onB, slow, fast]) await c.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
    await proxy.close();
  }
});

test('overlapping subscriptions deliver each message once', async () => {
  const a = await clusteredBroker(redis.url);
  const b = await clusteredBroker(redis.url);
  try {
    const onB = await connect(b);
    const onA = await connect(a);
    const gotB = record(onB);
    const gotA = record(onA);
    for (const c of [onA, onB]) await c.subscribeAsync(['ovl/#', 'ovl/+'], { qos: 1 });
    const pub = await connect(a, LOGIN);
    await untilReached(pub, 'ovl/probe', [gotA, gotB]);
    for (let i = 0; i < 5; i++) await pub.publishAsync('ovl/x', `m${i}`, { qos: i % 2 ? 1 : 0 });
    await pub.publishAsync('ovl/deep/end', 'end', { qos: 1 });
    const want = ['ovl/x m0', 'ovl/x m1', 'ovl/x m2', 'ovl/x m3', 'ovl/x m4', 'ovl/deep/end end'];
    await until('B to get all', () => gotB.includes('ovl/deep/end end'));
    await until('A to get all', () => gotA.includes('ovl/deep/end end'));
    // a second copy of the last ovl/x would come right after it, before ovl/deep/end
    assert.deepEqual(gotB, want);
    assert.deepEqual(gotA, want);
    for (const c of [onA, onB, pub]) await c.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
  }
});

test('a persistent session subscribing to several filters in one packet gets its SUBACK and everything, on either instance', async () => {
  const a = await clusteredBroker(redis.url);
  const b = await clusteredBroker(redis.url);
  try {
    const id = 'multi-filter-1';
    const first = await connect(a, { clientId: id, clean: false, ...LOGIN });
    const gotFirst = record(first);
    const granted = await within('SUBACK', first.subscribeAsync(['mf/1', 'mf/2', 'mf/3'], { qos: 1 }));
    assert.deepEqual(
      granted.map((g) => g.qos),
      [1, 1, 1],
    );
    const pub = await connect(b, LOGIN);
    await until('B to know the session', () => knows(b, 'mf/3', id));
    for (const t of ['mf/1', 'mf/2', 'mf/3']) await pub.publishAsync(t, 'live', { qos: 1 });
    await until(`all three live (got ${gotFirst.join(', ')})`, () => gotFirst.length >= 3);
    assert.deepEqual(gotFirst.sort(), ['mf/1 live', 'mf/2 live', 'mf/3 live']);
    await first.endAsync(true);
    await until('A to let the client go', () => a.aedes.connectedClients === 0);
    // while away: queued
    for (const t of ['mf/1', 'mf/2', 'mf/3']) await pub.publishAsync(t, 'queued', { qos: 1 });
    const back = mqtt.connect(`mqtt://127.0.0.1:${b.tcpPort}`, {
      clientId: id,
      clean: false,
      reconnectPeriod: 0,
      ...LOGIN,
    });
    const gotBack = record(back);
    await until('the session back on B', () => back.connected);
    await until(`the queued three (got ${gotBack.join(', ')})`, () => gotBack.length >= 3);
    for (const t of ['mf/1', 'mf/2', 'mf/3']) await pub.publishAsync(t, 'after', { qos: 1 });
    await until(`three more (got ${gotBack.join(', ')})`, () => gotBack.filter((m) => m.endsWith('after')).length >= 3);
    assert.deepEqual(gotBack.filter((m) => m.endsWith('queued')).sort(), ['mf/1 queued', 'mf/2 queued', 'mf/3 queued']);
    // A refused filter in the same packet is not kept in the session.
    const anon = await connect(a, { clientId: 'multi-filter-anon', clean: false });
    let granted2: number[] = [];
    anon.on('packetreceive', (p) => {
      if (p.cmd === 'suback') granted2 = p.granted as number[];
    });
    // mqtt.js rejects a SUBACK with any refusal in it
    await assert.rejects(anon.subscribeAsync(['mf/1', '$SYS/#', 'mf/2'], { qos: 1 }), /Subscribe error/);
    assert.deepEqual(granted2, [1, 128, 1]);
    await until('B to know the anonymous session', () => knows(b, 'mf/2', 'multi-filter-anon'));
    assert.equal(await knows(b, '$SYS/x/clients', 'multi-filter-anon'), false);
    for (const c of [back, pub, anon]) await c.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
  }
});

test('a broker on its own delivers every one of many mixed publishes, once to overlapping subscriptions', async () => {
  const lone = await EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    access: { mode: 'read-only-anonymous', ...LOGIN },
  });
  try {
    const sub = await connect(lone);
    const got = record(sub);
    await sub.subscribeAsync(['lone/#', 'lone/+', 'lone/x'], { qos: 1 });
    const pub = await connect(lone, LOGIN);
    // more than the 1024 numbers remembered per instance
    const n = 1500;
    for (let i = 0; i < n; i++) pub.publish('lone/x', String(i), { qos: i % 2 ? 1 : 0, retain: i % 3 === 0 });
    await pub.publishAsync('lone/y', 'end', { qos: 1 });
    await until('the last one', () => got.includes('lone/y end'));
    // Each once; not necessarily in the order sent: QoS 0 plain ones overtake the others.
    assert.equal(got.length, n + 1);
    assert.deepEqual(new Set(got), new Set([...Array.from({ length: n }, (_, i) => `lone/x ${i}`), 'lone/y end']));
    for (const c of [sub, pub]) await c.endAsync(true);
  } finally {
    await lone.close(3000);
  }
});
