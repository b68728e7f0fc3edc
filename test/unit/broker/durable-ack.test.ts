import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { ackWhenStored } from '../../../core/broker/durable-ack';
import { redisBackend } from '../../../core/broker/cluster';
import { LOGIN, clusteredBroker, connectTo, redisForFile, until } from '../../support/clustered-brokers';

const redis = redisForFile();
import { StallProxy } from '../../support/stall-proxy';

// Acknowledged means stored (README, "Several instances"): a clustered instance answers a QoS 1
// PUBLISH only once Redis answered, so an instance that dies in between has acknowledged nothing
// it lost. Instance A reaches Redis through a proxy that can hold A's commands; B reaches it
// directly.

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The topics of `c`'s messages acknowledged so far (PUBACK for QoS 1, PUBREC for QoS 2). */
function acks(c: mqtt.MqttClient): Set<string> {
  const topicOf = new Map<number, string>();
  const acked = new Set<string>();
  c.on('packetsend', (p) => {
    if (p.cmd === 'publish' && p.messageId !== undefined) topicOf.set(p.messageId, p.topic);
  });
  c.on('packetreceive', (p) => {
    if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId !== undefined) {
      const topic = topicOf.get(p.messageId);
      if (topic !== undefined) acked.add(topic);
    }
  });
  return acked;
}

/** Sends a message without waiting for its acknowledgement. */
const send = (c: mqtt.MqttClient, topic: string, qos: 1 | 2, retain = false) =>
  c.publish(topic, topic, { qos, retain }, () => {});

test('PUBACK and PUBREC wait until Redis answered; released, the message arrives and is acknowledged', async () => {
  const proxy = await StallProxy.start(redis.port);
  const a = await clusteredBroker(proxy.url);
  const b = await clusteredBroker(redis.url);
  try {
    const sub = await connectTo(b);
    const got: string[] = [];
    sub.on('message', (t) => got.push(t));
    await sub.subscribeAsync('d/#', { qos: 1 });
    const pub = await connectTo(a, { ...LOGIN, clientId: 'durable-pub' });
    const acked = acks(pub);
    await pub.publishAsync('d/first', 'x', { qos: 1 });
    await until('the first message on the other instance', () => got.includes('d/first'));

    for (const [topic, qos, retain, what] of [
      ['d/held', 1, false, 'd/held'],
      ['d/held-retained', 1, true, 'd/held-retained'],
      ['d/held-qos2', 2, false, 'incoming:durable-pub'],
    ] as const) {
      proxy.hold();
      send(pub, topic, qos, retain);
      // The broker asked Redis; Redis did not get it. Whatever aedes does before asking is done.
      await until(`the broker to ask Redis about ${topic}`, () => proxy.heldText().includes(what));
      await pause(300);
      assert.ok(!acked.has(topic), `${topic}: acknowledged before Redis answered`);
      assert.ok(!got.includes(topic));
      proxy.release();
      await until(`${topic} acknowledged once Redis answered`, () => acked.has(topic));
      await until(`${topic} on the other instance`, () => got.includes(topic));
    }
    assert.equal(pub.connected, true);
    await pub.endAsync(true);
    await sub.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
    await proxy.close();
  }
});

test('an instance dying while Redis has not answered yet has acknowledged nothing it lost', async () => {
  const proxy = await StallProxy.start(redis.port);
  const a = await clusteredBroker(proxy.url);
  const b = await clusteredBroker(redis.url);
  try {
    const sub = await connectTo(b);
    const got = new Set<string>();
    sub.on('message', (t) => got.add(t));
    await sub.subscribeAsync('k/#', { qos: 1 });
    const pub = await connectTo(a, LOGIN);
    const acked = acks(pub);
    for (let i = 0; i < 5; i++) send(pub, `k/before/${i}`, 1);
    await until('the first five acknowledged', () => acked.size === 5);
    proxy.hold();
    for (let i = 0; i < 5; i++) send(pub, `k/during/${i}`, 1);
    await until('the broker to ask Redis about the last one', () => proxy.heldText().includes('k/during/4'));
    await pause(300);
    // The instance dies: its connections to Redis go with what they had not sent.
    await proxy.close();
    await a.close(1000);
    await pause(300);
    const lost = [...acked].filter((t) => !got.has(t));
    assert.deepEqual(lost, [], 'acknowledged but never delivered');
    assert.equal(acked.size, 5, 'only what Redis took is acknowledged');
    pub.end(true);
    await sub.endAsync(true);
  } finally {
    await a.close(1000);
    await b.close(3000);
    await proxy.close();
  }
});

test('a store that does not answer in time fails the publish: the connection closes, no PUBACK, even when Redis answers later', async () => {
  const proxy = await StallProxy.start(redis.port);
  const backend = await redisBackend(proxy.url);
  const aedes = await Aedes.createBroker({ mq: backend.mq, persistence: backend.persistence });
  ackWhenStored(aedes, 500);
  const server = createServer((s) => aedes.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const acked = acks(pub);
    const closed = new Promise<void>((r) => pub.once('close', () => r()));
    await pub.publishAsync('t/ok', 'x', { qos: 1 });
    assert.ok(acked.has('t/ok'));
    proxy.hold();
    send(pub, 't/stuck', 1);
    await closed;
    proxy.release();
    await pause(300);
    assert.ok(!acked.has('t/stuck'), 'not acknowledged');
    pub.end(true);
  } finally {
    await new Promise<void>((r) => aedes.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
    await backend.close(2000);
    await proxy.close();
  }
});
