import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import { BridgeEndpoint } from '../../../core/server/bridge/endpoint';
import { redisBackend } from '../../../core/broker/cluster';
import { MemoryBridgeBackend } from '../../support/memory-bridge-backend';
import { startRedis } from '../../support/redis';
import { testPki } from '../../support/tls';

// The bridge endpoint clustered on Redis (as flm-server runs it with a Redis URL): a device's QoS 1
// block is acknowledged only once the server stored it, never before, and not at all when storing
// fails (README, "Several instances": acknowledged means stored). What a device publishes goes to
// the store, not through Redis, so the store's answer is the one the PUBACK waits for.

const DID = 'd8000000000000000000000000000001';
const KEY = 'a8000000000000000000000000000001';
const SID = 'c8000000000000000000000000000001';
const BID0 = 1449986560;
const blockTopic = (bid: number) => `/sensor/${SID}/tmpo/0/8/${bid}/gz`;
const block = (n: number) =>
  gzipSync(Buffer.from(`{"h":{"head":[${n},${n}],"tail":[${n},${n}],"vsn":1,"cfg":{}},"t":[0],"v":[0]}`));

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('bridge endpoint on Redis: a QoS 1 block is acknowledged once stored; a store that fails acknowledges nothing', async () => {
  const redis = await startRedis();
  const shared = await redisBackend(redis.url);
  const pki = await testPki();
  const backend = new MemoryBridgeBackend().addDevice(DID, KEY, [SID]);
  const endpoint = await BridgeEndpoint.start({
    host: '127.0.0.1',
    port: 0,
    backend,
    tls: { cert: pki.serverCert, key: pki.serverKey },
    aedes: { mq: shared.mq, persistence: shared.persistence },
  });
  const device = mqtt.connect(`mqtts://127.0.0.1:${endpoint.port}`, {
    ca: pki.caPem,
    protocolId: 'MQIsdp',
    protocolVersion: 3,
    clientId: 'flukso-d80000.flukso',
    username: DID,
    password: KEY,
    reconnectPeriod: 0,
  });
  try {
    const acked: number[] = [];
    device.on('packetreceive', (p) => {
      if (p.cmd === 'puback' && p.messageId !== undefined) acked.push(p.messageId);
    });
    device.on('error', () => undefined);
    const closed = new Promise<void>((r) => device.once('close', () => r()));
    await new Promise((r) => device.once('connect', r));

    let release!: () => void;
    backend.hold = new Promise<void>((r) => (release = r));
    device.publish(blockTopic(BID0), block(0), { qos: 1 });
    await until('the store to be asked', () => backend.calls.storeBlock === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(acked, [], 'no PUBACK before the block is stored');
    release();
    backend.hold = undefined;
    await until('the PUBACK once stored', () => acked.length === 1);
    assert.equal(backend.blocks.length, 1);

    backend.failNext = new Error('database away');
    device.publish(blockTopic(BID0 + 256), block(1), { qos: 1 });
    await closed;
    assert.equal(acked.length, 1, 'the block that was not stored is not acknowledged');
    assert.equal(backend.blocks.length, 1);
  } finally {
    device.end(true);
    await endpoint.close(3000);
    await shared.close(3000);
    await redis.remove();
  }
});
