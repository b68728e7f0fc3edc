import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { MqttBridge, type BridgeEvent, type BridgeOptions } from '../../../core/upload/bridge';
import { FluksoTestServer } from '../../support/flukso-server';
import type { FluksoBridgeBroker } from '../../support/flukso-bridge-broker';
import { testPki } from '../../support/tls';
import { waitFor } from '../../support/nodered';
import { DEVICE, KEY, WRONG_KEY, SID_A, SID_B } from './support';

const BLOCK = gzipSync(
  Buffer.from('{"h":{"head":[1449986560,1000],"tail":[1449986560,1000],"vsn":1,"cfg":{}},"t":[0],"v":[0]}'),
);
const blockTopic = (sid: string, bid = 1449986560) => `/sensor/${sid}/tmpo/0/8/${bid}/gz`;

interface Rig {
  server: FluksoTestServer;
  broker: FluksoBridgeBroker;
  events: BridgeEvent[];
  bridge: (o?: Partial<BridgeOptions>) => MqttBridge;
}

async function withBroker(
  opts: { requireMqtt31?: boolean; syncOnConnect?: boolean },
  fn: (r: Rig) => Promise<void>,
): Promise<void> {
  const pki = await testPki();
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE, key: KEY, sensors: [SID_A, SID_B] }] });
  const broker = await server.startBridge({
    cert: pki.serverCert,
    key: pki.serverKey,
    requireMqtt31: opts.requireMqtt31 ?? true,
    syncOnConnect: opts.syncOnConnect ?? true,
  });
  const events: BridgeEvent[] = [];
  const bridges: MqttBridge[] = [];
  try {
    await fn({
      server,
      broker,
      events,
      bridge: (o = {}) => {
        const b = new MqttBridge({
          host: '127.0.0.1',
          port: broker.port,
          ca: pki.caPem,
          deviceId: DEVICE,
          deviceKey: KEY,
          backoff: { initialMs: 50, maxMs: 400 },
          syncWaitMs: 300,
          onEvent: (e) => events.push(e),
          ...o,
        });
        bridges.push(b);
        b.start();
        return b;
      },
    });
  } finally {
    await Promise.all(bridges.map((b) => b.close()));
    await server.close();
  }
}

const kinds = (events: BridgeEvent[]) => events.map((e) => e.kind);

test('bridge: TLS, MQTT 3.1 (MQIsdp/3), device id and key, clean session, keepalive 60; the reply the server pushes comes out as sync-reply', async () => {
  await withBroker({}, async ({ broker, events, bridge }) => {
    const b = bridge({ syncWaitMs: 1000 });
    const reply = await waitFor('the pushed sync reply', () => events.find((e) => e.kind === 'sync-reply'));
    assert.deepEqual(broker.connects, [
      {
        clientId: `flukso-${DEVICE.slice(0, 6)}.flukso`,
        protocolId: 'MQIsdp',
        protocolVersion: 3,
        username: DEVICE,
        keepalive: 60,
        clean: true,
        returnCode: 0,
      },
    ]);
    assert.deepEqual(JSON.parse(reply.kind === 'sync-reply' ? reply.payload.toString() : ''), [
      { sid: SID_A, rid: 0, lvl: 0, bid: 0 },
      { sid: SID_B, rid: 0, lvl: 0, bid: 0 },
    ]);
    assert.equal(b.state().phase, 'connected');
    // The server answered by itself: no need to ask the store for a sync request.
    await new Promise((r) => setTimeout(r, 1300));
    assert.ok(!kinds(events).includes('sync-needed'), kinds(events).join());
    assert.deepEqual(kinds(events), ['connected', 'sync-reply']);
  });
});

test("bridge: the FLM's bridged topics go out with their QoS and retain, byte for byte; other topics are not bridged", async () => {
  await withBroker({}, async ({ broker, events, bridge }) => {
    const b = bridge();
    await waitFor('connected', () => b.state().phase === 'connected');
    const config = JSON.stringify({ 1: { id: SID_A, type: 'electricity', enable: 1 } });
    assert.equal(b.publish(`/device/${DEVICE}/config/sensor`, config, { qos: 0, retain: true }), 'sent');
    assert.equal(b.publish(`/device/${DEVICE}/config/kube`, '{}', { retain: true }), 'sent');
    assert.equal(b.publish(blockTopic(SID_A), BLOCK, { qos: 0, retain: false }), 'sent');
    assert.equal(b.publish(`/device/${DEVICE}/tmpo/sync`, ''), 'sent');
    for (const topic of [
      `/sensor/${SID_A}/gauge`,
      `/sensor/${SID_A}/counter`,
      `/device/${'f'.repeat(32)}/config/sensor`,
      `/sensor/${SID_A}/tmpo/0/9/1449986560/gz`,
      `/sensor/${SID_A}/tmpo/0/8/1449986561/gz`,
      `/sensor/${SID_A}/tmpo/0/8/1449986560/json`,
      'hello',
    ]) {
      assert.equal(b.publish(topic, 'x'), 'not-bridged', topic);
    }
    await waitFor('four messages at the server', () => broker.received.length === 4);
    // aedes stores a retained message before it reports it, so arrival order is not wire order here.
    assert.deepEqual(
      broker.received.map((r) => [r.topic, r.retain, r.qos]).sort(),
      [
        [`/device/${DEVICE}/config/sensor`, true, 0],
        [`/device/${DEVICE}/config/kube`, true, 0],
        [blockTopic(SID_A), false, 0],
        [`/device/${DEVICE}/tmpo/sync`, false, 0],
      ].sort(),
    );
    assert.deepEqual(broker.configs.get(`/device/${DEVICE}/config/sensor`), JSON.parse(config));
    assert.ok(broker.blocks.get(`${SID_A}/0/8/1449986560`)!.bytes.equals(BLOCK));
    // The sync request is answered with what the server now has.
    await waitFor('the second reply', () => events.filter((e) => e.kind === 'sync-reply').length === 2);
    const second = events.filter((e) => e.kind === 'sync-reply')[1]!;
    assert.deepEqual(JSON.parse(second.kind === 'sync-reply' ? second.payload.toString() : '')[0], {
      sid: SID_A,
      rid: 0,
      lvl: 8,
      bid: 1449986560,
    });
    assert.equal(b.state().sent, 4);
    assert.deepEqual(broker.refused, []);
  });
});

test('bridge: a server that wants MQTT 3.1 refuses 3.1.1 (CONNACK 1): a protocol failure that stays red; without that rule 3.1.1 connects', async () => {
  await withBroker({ requireMqtt31: true }, async ({ broker, events, bridge }) => {
    const b = bridge({ mqttVersion: '3.1.1' });
    const failed = await waitFor('a refusal', () => events.find((e) => e.kind === 'failed'));
    assert.equal(failed.kind === 'failed' && failed.failure, 'protocol');
    assert.match(failed.kind === 'failed' ? failed.error : '', /unacceptable protocol version/);
    assert.equal(broker.connects[0]!.protocolVersion, 4);
    assert.equal(broker.connects[0]!.returnCode, 1);
    assert.equal(b.state().refused, true);
    assert.equal(b.state().phase, 'down');
    await waitFor('it keeps trying', () => broker.connects.length >= 2);
    assert.equal(broker.connected, 0);
  });
  await withBroker({ requireMqtt31: false }, async ({ broker, bridge }) => {
    const b = bridge({ mqttVersion: '3.1.1' });
    await waitFor('connected', () => b.state().phase === 'connected');
    assert.deepEqual([broker.connects[0]!.protocolId, broker.connects[0]!.protocolVersion], ['MQTT', 4]);
  });
});

test('bridge: a wrong device key is refused (CONNACK 4): an auth failure, nothing delivered', async () => {
  await withBroker({}, async ({ broker, events, bridge }) => {
    const b = bridge({ deviceKey: WRONG_KEY });
    const failed = await waitFor('a refusal', () => events.find((e) => e.kind === 'failed'));
    assert.equal(failed.kind === 'failed' && failed.failure, 'auth');
    assert.match(failed.kind === 'failed' ? failed.error : '', /refused the device id and key/);
    assert.equal(broker.connects[0]!.returnCode, 4);
    assert.equal(b.state().refused, true);
    assert.equal(b.publish(blockTopic(SID_A), BLOCK), 'left-to-sync');
    assert.deepEqual(broker.received, []);
    assert.deepEqual(broker.replies, []);
  });
});

test('bridge: a certificate from another CA, or for another name, is refused before any MQTT is spoken', async () => {
  const pki = await testPki();
  await withBroker({}, async ({ broker, events, bridge }) => {
    const b = bridge({ ca: pki.otherCaPem });
    const failed = await waitFor('a TLS refusal', () => events.find((e) => e.kind === 'failed'));
    assert.equal(failed.kind === 'failed' && failed.failure, 'tls', failed.kind === 'failed' ? failed.error : '');
    assert.equal(b.state().refused, true);
    await b.close();
    const named = bridge({ servername: 'api.flukso.net' });
    await waitFor(
      'a second TLS refusal',
      () => events.filter((e) => e.kind === 'failed').length >= 2 && named.state().lastError,
    );
    assert.equal(named.state().lastError!.failure, 'tls', named.state().lastError!.message);
    assert.match(named.state().lastError!.message, /api\.flukso\.net/);
    assert.deepEqual(broker.connects, [], 'the server never saw a CONNECT');
  });
});

test('bridge: while down, TMPO is left to the sync, other messages wait (oldest dropped beyond the bound), the retained config is sent on every connect; no pushed reply: sync-needed', async () => {
  await withBroker({ syncOnConnect: false }, async ({ broker, events, bridge }) => {
    const b = bridge({ maxHeld: 2 });
    await waitFor('connected', () => b.state().phase === 'connected');
    await waitFor('sync-needed after the first connect', () => kinds(events).includes('sync-needed'));
    b.publish(`/device/${DEVICE}/config/sensor`, '{"v":1}', { retain: true });
    await waitFor('the config', () => broker.received.length === 1);

    await broker.down();
    await waitFor('down', () => b.state().phase === 'down');
    assert.ok(kinds(events).includes('disconnected'));
    assert.equal(b.publish(blockTopic(SID_A), BLOCK), 'left-to-sync');
    assert.equal(b.publish(`/device/${DEVICE}/tmpo/sync`, ''), 'left-to-sync');
    for (const n of [1, 2, 3]) assert.equal(b.publish(`/device/${DEVICE}/config/flx`, `{"n":${n}}`), 'held');
    assert.equal(b.publish(`/device/${DEVICE}/config/sensor`, '{"v":2}', { retain: true }), 'held');
    assert.deepEqual([b.state().held, b.state().dropped, b.state().leftToSync], [2, 1, 2]);

    await broker.up();
    await waitFor('connected again', () => b.state().phase === 'connected' && b.state().connects === 2, 15_000);
    await waitFor('what waited arrives', () => broker.received.length === 4);
    assert.deepEqual(
      broker.received
        .slice(1)
        .map((r) => [r.topic, r.payload.toString(), r.retain])
        .sort(),
      [
        [`/device/${DEVICE}/config/flx`, '{"n":2}', false],
        [`/device/${DEVICE}/config/flx`, '{"n":3}', false],
        [`/device/${DEVICE}/config/sensor`, '{"v":2}', true],
      ],
    );
    assert.equal(b.state().held, 0);
    await waitFor(
      'sync-needed after the reconnect',
      () => kinds(events).filter((k) => k === 'sync-needed').length === 2,
    );
    assert.equal(broker.blocks.size, 0, 'the block made while down was not buffered: the sync brings it');
  });
});

test('bridge: close is bounded while the server never finishes the handshake', async () => {
  // Takes the TCP connection and never answers the TLS hello.
  const server = createNetServer();
  const held = new Set<Socket>();
  server.on('connection', (s) => held.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  try {
    const events: BridgeEvent[] = [];
    const b = new MqttBridge({
      host: '127.0.0.1',
      port,
      deviceId: DEVICE,
      deviceKey: KEY,
      connectTimeoutMs: 60_000,
      onEvent: (e) => events.push(e),
    });
    b.start();
    await waitFor('the TCP connection', () => held.size > 0);
    const t0 = Date.now();
    await b.close(500);
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(b.state().phase, 'closed');
    assert.deepEqual(events, []);
  } finally {
    for (const s of held) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
