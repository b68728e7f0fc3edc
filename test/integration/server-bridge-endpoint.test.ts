/**
 * The server's MQTT bridge endpoint (docs/protocols/server-bridge.md) against real mqtt.js
 * clients over TLS on 127.0.0.1, speaking MQTT 3.1 as an FLM's mosquitto bridge does, and 3.1.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { connect as tlsConnect } from 'node:tls';
import mqtt from 'mqtt';
import mqemitter from 'mqemitter';
import memoryPersistence from 'aedes-persistence';
import type { BridgeEndpoint, BridgeEndpointOptions } from '../../core/server/bridge/endpoint';
import { MemoryBridgeBackend } from '../support/memory-bridge-backend';
import { testPki } from '../support/tls';
import { flmBridgeLogin, startTestBridgeEndpoint } from '../support/bridge-endpoint';
import { waitFor } from '../support/nodered';
import { portOpen } from '../support/net';

const DID = 'd0000000000000000000000000000001';
const KEY = 'a0000000000000000000000000000001';
const OTHER_DID = 'd0000000000000000000000000000002';
const OTHER_KEY = 'a0000000000000000000000000000002';
const SID = 'c0000000000000000000000000000001';
const SID2 = 'c0000000000000000000000000000002';
const OTHER_SID = 'c0000000000000000000000000000009';

const block = (n: number) =>
  gzipSync(Buffer.from(`{"h":{"head":[${n},${n}],"tail":[${n},${n}],"vsn":1,"cfg":{}},"t":[0],"v":[0]}`));
const blockTopic = (sid: string, bid: number, lvl = 8) => `/sensor/${sid}/tmpo/0/${lvl}/${bid}/gz`;
const BID0 = 1449986560;

interface Rig {
  endpoint: BridgeEndpoint;
  backend: MemoryBridgeBackend;
  url: string;
  connect: (o?: mqtt.IClientOptions) => Promise<Device>;
}

interface Device {
  client: mqtt.MqttClient;
  got: Array<{ topic: string; payload: string }>;
  closed: Promise<void>;
}

async function withEndpoint(
  o: Partial<Omit<BridgeEndpointOptions, 'backend' | 'tls'>>,
  fn: (r: Rig) => Promise<void>,
): Promise<void> {
  const backend = new MemoryBridgeBackend()
    .addDevice(DID, KEY, [SID, SID2])
    .addDevice(OTHER_DID, OTHER_KEY, [OTHER_SID]);
  const { endpoint, pki, url } = await startTestBridgeEndpoint(backend, o);
  const clients: mqtt.MqttClient[] = [];
  try {
    await fn({
      endpoint,
      backend,
      url,
      connect: async (co = {}) => {
        const client = mqtt.connect(url, {
          ...flmBridgeLogin(pki, DID, KEY),
          clientId: 'flukso-d00000.flukso',
          clean: true,
          keepalive: 60,
          ...co,
        });
        clients.push(client);
        const got: Device['got'] = [];
        // Listening before CONNACK: the endpoint's first message follows it at once.
        client.on('message', (topic, p) => got.push({ topic, payload: p.toString() }));
        const closed = new Promise<void>((r) => client.once('close', () => r()));
        await new Promise<void>((resolve, reject) => {
          client.once('connect', () => resolve());
          client.once('error', reject);
        });
        client.on('error', () => undefined);
        return { client, got, closed };
      },
    });
  } finally {
    for (const c of clients) c.end(true);
    await endpoint.close(3000);
  }
}

/** CONNECT with these options and return the CONNACK code, or the error's text when there was none. */
async function connackCode(url: string, o: mqtt.IClientOptions): Promise<number | string> {
  const pki = await testPki();
  const client = mqtt.connect(url, { ca: pki.caPem, reconnectPeriod: 0, connectTimeout: 5000, ...o });
  try {
    return await new Promise((resolve) => {
      client.once('connect', () => resolve(0));
      client.once('error', (err: Error & { code?: number }) =>
        resolve(typeof err.code === 'number' ? err.code : err.message),
      );
      client.once('close', () => resolve('closed'));
    });
  } finally {
    client.end(true);
  }
}

const syncReply = (d: Device) => d.got.find((m) => m.topic === `/d/device/${DID}/tmpo/sync`);

test('MQTT 3.1 login with device id and key: the sync list is pushed right after CONNACK, unsubscribed, from the backend', async () => {
  await withEndpoint({}, async ({ endpoint, backend, connect }) => {
    backend.blocks.push({ did: DID, block: { sid: SID, rid: 0, lvl: 12, bid: 1449984000, ext: 'gz', data: block(1) } });
    const d = await connect();
    const reply = await waitFor('the sync reply', () => syncReply(d));
    assert.equal(d.got[0], reply, 'the first thing the endpoint sends');
    assert.deepEqual(JSON.parse(reply.payload), [
      { sid: SID, rid: 0, lvl: 12, bid: 1449984000 },
      { sid: SID2, rid: 0, lvl: 0, bid: 0 },
    ]);
    assert.equal(endpoint.counts.get('login'), 1);
    assert.equal(endpoint.counts.get('sync-reply'), 1);
    assert.equal(endpoint.clients, 1);
  });
});

test('MQTT 3.1.1 is taken too; MQTT 5 gets CONNACK "unacceptable protocol version"', async () => {
  await withEndpoint({}, async ({ endpoint, connect, url }) => {
    const d = await connect({ protocolId: 'MQTT', protocolVersion: 4 });
    await waitFor('the sync reply', () => syncReply(d));
    const v5 = await connackCode(url, { protocolVersion: 5, username: DID, password: KEY });
    assert.equal(v5, 1);
    assert.equal(endpoint.counts.get('protocol-refused'), 1);
  });
});

test('a wrong key, an unknown device or no login is refused with CONNACK 4 and counted; a registry that does not answer gives 3; the endpoint keeps serving', async () => {
  await withEndpoint({}, async ({ endpoint, backend, url, connect }) => {
    const base = { protocolId: 'MQIsdp' as const, protocolVersion: 3 as const };
    assert.equal(await connackCode(url, { ...base, username: DID, password: OTHER_KEY }), 4);
    assert.equal(await connackCode(url, { ...base, username: 'e'.repeat(32), password: KEY }), 4);
    assert.equal(await connackCode(url, { ...base }), 4);
    assert.equal(await connackCode(url, { ...base, username: DID, password: 'x'.repeat(5000) }), 4);
    assert.equal(endpoint.counts.get('login-refused'), 4);
    assert.equal(backend.calls.authenticate, 2, 'what is not a device id and key never reaches the registry');
    backend.registryDown = new Error('database away');
    assert.equal(await connackCode(url, { ...base, username: DID, password: KEY }), 3);
    assert.equal(endpoint.counts.get('backend-failed'), 1);
    backend.registryDown = undefined;
    const d = await connect();
    await waitFor('the sync reply', () => syncReply(d));
  });
});

test('blocks and configs reach the backend; a sync request gets a new list; test/tap is taken; the connection stays up', async () => {
  await withEndpoint({}, async ({ endpoint, backend, connect }) => {
    const d = await connect();
    await waitFor('the first sync reply', () => syncReply(d));
    const config = JSON.stringify({ main: { hw_type: 'FLM02B' }, '1': { id: SID, enable: 1 } });
    d.client.publish(`/device/${DID}/config/sensor`, config, { retain: true });
    d.client.publish(`/device/${DID}/config/kube`, '{"main":{}}', { retain: true });
    d.client.publish(`/device/${DID}/config/flx`, '{"1":{}}', { retain: true });
    for (let i = 0; i < 5; i++) d.client.publish(blockTopic(SID, BID0 + i * 256), block(i));
    d.client.publish(`/device/${DID}/test/tap`, '');
    d.client.publish(`/device/${DID}/tmpo/sync`, '');
    await waitFor('a second sync reply', () => d.got.filter((m) => m.topic.endsWith('/tmpo/sync')).length === 2);
    const second = JSON.parse(d.got.filter((m) => m.topic.endsWith('/tmpo/sync'))[1]!.payload) as unknown[];
    assert.deepEqual(second[0], { sid: SID, rid: 0, lvl: 8, bid: BID0 + 4 * 256 }, 'the request came after the blocks');
    assert.deepEqual(
      backend.blocksOf(SID).map((b) => [b.bid, b.lvl, b.ext, b.data.equals(block((b.bid - BID0) / 256))]),
      [0, 1, 2, 3, 4].map((i) => [BID0 + i * 256, 8, 'gz', true]),
    );
    assert.deepEqual(
      backend.configs.map((c) => [c.did, c.kind]),
      [
        [DID, 'sensor'],
        [DID, 'kube'],
        [DID, 'flx'],
      ],
    );
    assert.equal(backend.configs[0]!.payload.toString(), config);
    assert.equal(endpoint.counts.get('tap'), 1);
    assert.equal(d.client.connected, true);
  });
});

test("another device's topics, other sensors' blocks, broken blocks and unknown topics are dropped and counted, the connection kept", async () => {
  await withEndpoint({}, async ({ endpoint, backend, connect }) => {
    const d = await connect();
    await waitFor('the sync reply', () => syncReply(d));
    d.client.publish(`/device/${OTHER_DID}/config/sensor`, '{"main":{}}');
    d.client.publish(`/device/${OTHER_DID}/tmpo/sync`, '');
    d.client.publish(blockTopic(OTHER_SID, BID0), block(0));
    d.client.publish(blockTopic(SID, BID0 + 1), block(0)); // bid not a multiple of 256
    d.client.publish(blockTopic(SID, BID0), Buffer.from('not gzip'));
    d.client.publish(`/device/${DID}/config/sensor`, 'not json');
    d.client.publish('/sensor/' + SID + '/gauge', '[1,2,"W"]');
    d.client.publish('$SYS/broker/connection/flukso-d00000.flukso/state', '1');
    d.client.publish(blockTopic(SID, BID0), block(0));
    await waitFor('the good block', () => backend.blocks.length === 1);
    const c = endpoint.counts.snapshot();
    assert.equal(c['foreign-topic'], 2);
    assert.equal(c['foreign-sensor'], 1);
    assert.equal(c['block-refused'], 2);
    assert.equal(c['config-refused'], 1);
    assert.equal(c.unrecognised, 2);
    assert.equal(backend.configs.length, 0);
    assert.equal(backend.blocks[0]!.block.sid, SID);
    assert.equal(
      d.got.filter((m) => m.topic.endsWith('/tmpo/sync')).length,
      1,
      "no reply for the other device's request",
    );
    assert.equal(d.client.connected, true);
  });
});

test('the keepalive a device asks for is held to 10..900 s (0 counts as 900)', async () => {
  await withEndpoint({}, async ({ endpoint, connect }) => {
    for (const [asked, held] of [
      [2, 10],
      [60, 60],
      [3600, 900],
      [0, 900],
    ] as const) {
      const d = await connect({ keepalive: asked });
      const client = (endpoint.aedes as unknown as { clients: Record<string, { _keepaliveInterval: number }> }).clients[
        `bridge/${DID}`
      ];
      // aedes cuts a client silent for 1.5 keepalives (MQTT-3.1.2-24).
      assert.equal(client?._keepaliveInterval, held * 1500 + 1, `asked ${asked}`);
      d.client.end(true);
      await d.closed;
    }
    assert.equal(endpoint.counts.get('keepalive-clamped'), 3);
  });
});

test('subscriptions are granted only under /d/device/<did>/, and the sync reply still comes once', async () => {
  await withEndpoint({}, async ({ endpoint, connect }) => {
    const d = await connect({ protocolId: 'MQTT', protocolVersion: 4 });
    const granted = await d.client.subscribeAsync(`/d/device/${DID}/tmpo/sync`);
    assert.equal(granted[0]?.qos, 0);
    for (const refused of ['#', `/d/device/${OTHER_DID}/#`])
      await assert.rejects(d.client.subscribeAsync(refused), /Unspecified error/, refused);
    assert.equal(endpoint.counts.get('subscribe-refused'), 2);
    d.client.publish(`/device/${DID}/tmpo/sync`, '');
    await waitFor('two replies', () => d.got.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(d.got.length, 2, 'the reply goes to the device directly, not through its subscription as well');
  });
});

test('two FLMs whose bridges use the same client id stay connected side by side; the same device again takes over its old connection', async () => {
  await withEndpoint({}, async ({ endpoint, connect }) => {
    const a = await connect();
    const b = await connect({ username: OTHER_DID, password: OTHER_KEY });
    await waitFor('both replies', () => a.got.length === 1 && b.got.length === 1);
    assert.equal(endpoint.clients, 2);
    assert.equal(a.client.connected && b.client.connected, true);
    const a2 = await connect();
    await a.closed;
    await waitFor('the new connection', () => a2.got.length === 1);
    assert.equal(b.client.connected, true);
  });
});

test('a packet over the size limit cuts the connection at its header and is counted', async () => {
  await withEndpoint({ limits: { maxPacketBytes: 4096 } }, async ({ endpoint, backend, connect }) => {
    const d = await connect();
    await waitFor('the sync reply', () => syncReply(d));
    d.client.publish(blockTopic(SID, BID0), Buffer.concat([block(0), Buffer.alloc(8000)]));
    await d.closed;
    assert.equal(endpoint.counts.get('packet-too-large'), 1);
    assert.equal(backend.blocks.length, 0);
  });
});

test('connections over the limit are refused at TCP accept and counted', async () => {
  await withEndpoint({ limits: { maxConnections: 2 } }, async ({ endpoint, url, connect }) => {
    await connect();
    await connect({ username: OTHER_DID, password: OTHER_KEY });
    const third = await connackCode(url, { protocolId: 'MQIsdp', protocolVersion: 3, username: DID, password: KEY });
    assert.notEqual(third, 0);
    await waitFor('the refusal counted', () => endpoint.counts.get('connections-refused') === 1);
  });
});

test('a device catching up is slowed, not dropped: one backend call at a time (the limit) over two devices, and every block lands, in order, once the store goes on', async () => {
  await withEndpoint({ limits: { maxBackendCalls: 1 } }, async ({ backend, connect }) => {
    const a = await connect();
    const b = await connect({ username: OTHER_DID, password: OTHER_KEY });
    await waitFor('both replies', () => a.got.length === 1 && b.got.length === 1);
    let release!: () => void;
    backend.hold = new Promise<void>((r) => (release = r));
    const N = 300;
    for (let i = 0; i < N; i++) a.client.publish(blockTopic(SID, BID0 + i * 256), block(i));
    for (let i = 0; i < 20; i++) b.client.publish(blockTopic(OTHER_SID, BID0 + i * 256), block(i));
    await waitFor('the first store waiting', () => backend.calls.storeBlock === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(backend.calls.storeBlock, 1, 'one backend call at a time over all devices');
    release();
    backend.hold = undefined;
    await waitFor('every block', () => backend.blocks.length === N + 20, 30_000);
    assert.equal(backend.maxConcurrent, 1);
    assert.deepEqual(
      backend.blocksOf(SID).map((x) => x.bid),
      Array.from({ length: N }, (_, i) => BID0 + i * 256),
    );
  });
});

test('publishes over the per-device rate wait their turn: all of them are stored', async () => {
  await withEndpoint({ limits: { publishesPerSecond: 50 } }, async ({ backend, connect }) => {
    const d = await connect();
    await waitFor('the sync reply', () => syncReply(d));
    for (let i = 0; i < 40; i++) d.client.publish(blockTopic(SID, BID0 + i * 256), block(i));
    await waitFor('every block', () => backend.blocks.length === 40, 20_000);
    assert.equal(d.client.connected, true);
  });
});

test('a store that fails closes the connection and stores nothing after it; the next sync list starts before the lost block', async () => {
  await withEndpoint({}, async ({ endpoint, backend, connect }) => {
    const d = await connect();
    await waitFor('the sync reply', () => syncReply(d));
    d.client.publish(blockTopic(SID, BID0), block(0));
    await waitFor('the first block', () => backend.blocks.length === 1);
    backend.failNext = new Error('database away');
    for (let i = 1; i < 10; i++) d.client.publish(blockTopic(SID, BID0 + i * 256), block(i));
    await d.closed;
    assert.equal(endpoint.counts.get('store-failed'), 1);
    assert.equal(backend.blocks.length, 1, 'nothing after the lost block');
    const again = await connect();
    const reply = await waitFor('the sync reply', () => syncReply(again));
    assert.deepEqual(JSON.parse(reply.payload)[0], { sid: SID, rid: 0, lvl: 8, bid: BID0 });
  });
});

test('a block the backend refuses for good (BridgeRefused) is counted and dropped; the connection stays and the next block is stored', async () => {
  await withEndpoint({}, async ({ endpoint, backend, connect }) => {
    backend.refuse = (b) => (b.bid === BID0 ? 'overlaps a stored block' : undefined);
    const d = await connect();
    await waitFor('the sync reply', () => syncReply(d));
    d.client.publish(blockTopic(SID, BID0), block(0));
    d.client.publish(blockTopic(SID, BID0 + 256), block(1));
    await waitFor('the second block', () => backend.blocks.length === 1);
    assert.equal(backend.blocks[0]!.block.bid, BID0 + 256);
    assert.equal(endpoint.counts.get('block-refused'), 1);
    assert.equal(endpoint.counts.get('store-failed'), 0);
    assert.equal(d.client.connected, true);
  });
});

test('a store that never answers counts as failed after the backend timeout: the connection closes and later devices are still served', async () => {
  await withEndpoint(
    { limits: { backendTimeoutMs: 300, maxBackendCalls: 1 } },
    async ({ endpoint, backend, connect }) => {
      const d = await connect();
      await waitFor('the sync reply', () => syncReply(d));
      backend.hold = new Promise<void>(() => undefined);
      d.client.publish(blockTopic(SID, BID0), block(0));
      await d.closed;
      assert.equal(endpoint.counts.get('store-failed'), 1);
      backend.hold = undefined;
      const other = await connect({ username: OTHER_DID, password: OTHER_KEY });
      await waitFor('its sync reply', () => other.got.length === 1);
    },
  );
});

test('closing while a device waits on a store that never finishes ends within its bound and frees the port', async () => {
  const backend = new MemoryBridgeBackend().addDevice(DID, KEY, [SID]);
  const { endpoint, pki, url } = await startTestBridgeEndpoint(backend);
  const client = await mqtt.connectAsync(url, flmBridgeLogin(pki, DID, KEY));
  client.on('error', () => undefined);
  try {
    backend.hold = new Promise<void>(() => undefined);
    for (let i = 0; i < 50; i++) client.publish(blockTopic(SID, BID0 + i * 256), block(i));
    await waitFor('a store waiting', () => backend.calls.storeBlock === 1);
    await endpoint.close(1000);
    assert.equal(await portOpen(endpoint.port), false);
  } finally {
    client.end(true);
  }
});

test('the same endpoint on two instances sharing an injected emitter and persistence: a device reconnecting to the other instance takes its session over', async () => {
  const mq = mqemitter();
  const persistence = memoryPersistence();
  const backend = new MemoryBridgeBackend().addDevice(DID, KEY, [SID]);
  const start = (id: string) => startTestBridgeEndpoint(backend, { aedes: { mq, persistence, id } });
  const { endpoint: one, url: oneUrl, pki } = await start('one');
  const { endpoint: two, url: twoUrl } = await start('two');
  const opts = flmBridgeLogin(pki, DID, KEY);
  const first = mqtt.connect(oneUrl, opts);
  const second = mqtt.connect(twoUrl, { ...opts, reconnectPeriod: 0 });
  try {
    await new Promise((r) => first.once('connect', r));
    const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
    const got: string[] = [];
    second.on('message', (t) => got.push(t));
    await new Promise((r) => second.once('connect', r));
    await firstClosed;
    await waitFor('the sync reply on the second instance', () => got.length === 1);
    second.publish(blockTopic(SID, BID0), block(0));
    await waitFor('the block', () => backend.blocks.length === 1);
    assert.equal(one.clients, 0);
    assert.equal(two.clients, 1);
  } finally {
    first.end(true);
    second.end(true);
    await one.close(3000);
    await two.close(3000);
  }
});

test('a TLS client that does not finish its handshake, or speaks no MQTT, does not disturb the others', async () => {
  await withEndpoint({}, async ({ endpoint, connect }) => {
    const port = endpoint.port;
    const junk = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () =>
      junk.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])),
    );
    junk.on('error', () => undefined);
    await new Promise((r) => junk.once('close', r));
    const d = await connect();
    await waitFor('the sync reply', () => syncReply(d));
  });
});
