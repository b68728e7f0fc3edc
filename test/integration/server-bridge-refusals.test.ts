/**
 * The bridge endpoint on the server's own backend (registry + file store), as `flm-server-bridge`
 * runs it: what it refuses is what `/health` counts, and a sensor whose table just arrived has its
 * first block taken (docs/protocols/server-bridge.md#topics).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import { BridgeEndpoint } from '../../core/server/bridge/endpoint';
import { FluksoServer } from '../../core/server/service';
import { FileRegistry } from '../../core/server/registry';
import { encodeSeries } from '../../core/tmpo/codec';
import { testPki } from '../support/tls';
import { waitFor } from '../support/nodered';
import { withTempDir } from '../support/temp-dir';

const DID = 'd1700000000000000000000000000001';
const KEY = 'a1700000000000000000000000000001';
const OTHER_DID = 'd1700000000000000000000000000002';
const SID = 'c1700000000000000000000000000001';
const NEW_SID = 'c1700000000000000000000000000003';
const OTHER_SID = 'c1700000000000000000000000000009';
const BID0 = 1449986560;
const topic = (sid: string, bid: number) => `/sensor/${sid}/tmpo/0/8/${bid}/gz`;
const goodBlock = (sid: string, bid: number) =>
  encodeSeries({ times: [bid + 1, bid + 11], values: [5, 7] }, { id: sid, data_type: 'counter', rid: 0 });

interface Rig {
  server: FluksoServer;
  endpoint: BridgeEndpoint;
  client: mqtt.MqttClient;
  syncReplies: () => number;
}

async function withBridge(fn: (r: Rig) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const reg = await FileRegistry.open(`${dir}/server`);
    await reg.addUser('alice');
    await reg.addDevice(DID, KEY, 'alice', [SID]);
    await reg.addDevice(OTHER_DID, 'a1700000000000000000000000000002', 'alice', [OTHER_SID]);
    const server = await FluksoServer.start({ dataDir: dir, port: 0, now: () => BID0 + 100_000 });
    const pki = await testPki();
    const endpoint = await BridgeEndpoint.start({
      host: '127.0.0.1',
      port: 0,
      backend: server.bridgeBackend,
      tls: { cert: pki.serverCert, key: pki.serverKey },
    });
    let replies = 0;
    const client = mqtt.connect(`mqtts://127.0.0.1:${endpoint.port}`, {
      ca: pki.caPem,
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      clientId: 'flukso-d17000.flukso',
      username: DID,
      password: KEY,
      reconnectPeriod: 0,
    });
    client.on('message', (t) => {
      if (t === `/d/device/${DID}/tmpo/sync`) replies++;
    });
    client.on('error', () => undefined);
    try {
      await waitFor('the sync reply', () => replies === 1);
      await fn({ server, endpoint, client, syncReplies: () => replies });
    } finally {
      client.end(true);
      await endpoint.close(3000);
      await server.close();
    }
  });
}

async function health(server: FluksoServer): Promise<{ bridge: { refusedBlocks: number; blocks: number } }> {
  return (await fetch(`${server.url}health`).then((r) => r.json())) as never;
}

test("every block the bridge refuses is in /health's refusedBlocks; a block the store finds broken keeps the connection", async () => {
  await withBridge(async ({ server, endpoint, client }) => {
    client.publish(topic(OTHER_SID, BID0), goodBlock(OTHER_SID, BID0)); // another device's sensor
    client.publish(topic(SID, BID0 + 1), goodBlock(SID, BID0)); // bid not a multiple of 256
    client.publish(topic(SID, BID0), Buffer.from('not gzip'));
    client.publish(topic(SID, BID0), gzipSync('{"h":"not a tmpo block"}')); // refused by the backend
    client.publish(topic(SID, BID0 + 256), goodBlock(SID, BID0 + 256));
    await waitFor('the good block', () => endpoint.counts.get('block') === 1);
    const c = endpoint.counts.snapshot();
    assert.deepEqual([c['foreign-sensor'], c['block-refused'], c['store-failed']], [1, 3, 0]);
    const h = await health(server);
    assert.equal(h.bridge.refusedBlocks, c['foreign-sensor'] + c['block-refused']);
    assert.equal(h.bridge.blocks, 1);
    assert.equal(client.connected, true);
  });
});

test("a block of a sensor whose table arrived a moment ago is stored at once, not turned away as another device's", async () => {
  await withBridge(async ({ server, endpoint, client, syncReplies }) => {
    const table = { main: {}, '1': { id: SID, enable: 1 }, '2': { id: NEW_SID, enable: 1 } };
    client.publish(`/device/${DID}/config/sensor`, JSON.stringify(table), { retain: true });
    client.publish(topic(NEW_SID, BID0), goodBlock(NEW_SID, BID0));
    client.publish(topic(OTHER_SID, BID0), goodBlock(OTHER_SID, BID0));
    client.publish(topic(NEW_SID, BID0 + 256), goodBlock(NEW_SID, BID0 + 256));
    await waitFor('both blocks of the new sensor', () => endpoint.counts.get('block') === 2);
    assert.equal(endpoint.counts.get('foreign-sensor'), 1, "only the other device's sensor");
    assert.equal(syncReplies(), 1);
    const got: number[] = [];
    await server.store.forEachSample(NEW_SID, 0, 0, 2 ** 40, (t) => got.push(t));
    assert.deepEqual(got, [BID0 + 1, BID0 + 11, BID0 + 257, BID0 + 267]);
  });
});
