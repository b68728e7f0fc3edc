/**
 * Our own device side (flm-upload's MQTT bridge, core/upload/bridge.ts) against the server's
 * bridge endpoint, in both MQTT versions it speaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { MqttBridge, type BridgeEvent, type MqttVersion } from '../../core/upload/bridge';
import { tmpoBlockTopic, tmpoSyncTopic } from '../../core/mqtt/topics';
import { MemoryBridgeBackend } from '../support/memory-bridge-backend';
import { startTestBridgeEndpoint } from '../support/bridge-endpoint';
import { waitFor } from '../support/nodered';

const DID = 'a7000000000000000000000000000001';
const KEY = 'b7000000000000000000000000000001';
const SID = 'c7000000000000000000000000000001';
const BID0 = 1449986560;

for (const mqttVersion of ['3.1', '3.1.1'] as MqttVersion[]) {
  test(`flm-upload's bridge (MQTT ${mqttVersion}): the pushed sync list arrives as its sync reply, its blocks and sensor table are stored; a wrong key is a refusal it reports`, async () => {
    const backend = new MemoryBridgeBackend().addDevice(DID, KEY, [SID]);
    const { endpoint, pki } = await startTestBridgeEndpoint(backend);
    const events: BridgeEvent[] = [];
    const common = {
      host: '127.0.0.1',
      port: endpoint.port,
      ca: pki.caPem,
      deviceId: DID,
      mqttVersion,
      backoff: { initialMs: 50, maxMs: 400 },
      syncWaitMs: 5000,
    };
    const bridge = new MqttBridge({ ...common, deviceKey: KEY, onEvent: (e) => events.push(e) });
    const wrong: BridgeEvent[] = [];
    const intruder = new MqttBridge({ ...common, deviceKey: 'f'.repeat(32), onEvent: (e) => wrong.push(e) });
    try {
      bridge.start();
      const reply = await waitFor('the sync reply', () => events.find((e) => e.kind === 'sync-reply'));
      assert.deepEqual(JSON.parse(reply.payload.toString()), [{ sid: SID, rid: 0, lvl: 0, bid: 0 }]);
      assert.equal(
        events.some((e) => e.kind === 'sync-needed'),
        false,
        'it came by itself',
      );
      const table = JSON.stringify({ main: {}, '1': { id: SID, enable: 1 } });
      assert.equal(bridge.publish(`/device/${DID}/config/sensor`, table, { retain: true }), 'sent');
      for (let i = 0; i < 3; i++)
        bridge.publish(tmpoBlockTopic({ sid: SID, rid: 0, lvl: 8, bid: BID0 + i * 256 }), gzipSync(`{"i":${i}}`));
      bridge.publish(tmpoSyncTopic(DID), '');
      await waitFor('the second reply', () => events.filter((e) => e.kind === 'sync-reply').length === 2);
      const second = events.filter((e) => e.kind === 'sync-reply')[1] as { payload: Buffer };
      assert.deepEqual(JSON.parse(second.payload.toString()), [{ sid: SID, rid: 0, lvl: 8, bid: BID0 + 512 }]);
      assert.equal(backend.configs[0]?.payload.toString(), table);
      assert.equal(backend.blocksOf(SID).length, 3);
      assert.equal(events.filter((e) => e.kind === 'unexpected').length, 0);

      intruder.start();
      const failed = await waitFor('the refusal', () => wrong.find((e) => e.kind === 'failed'));
      assert.equal(failed.kind === 'failed' && failed.failure, 'auth');
      assert.equal(intruder.state().refused, true);
      assert.ok(endpoint.counts.get('login-refused') >= 1);
    } finally {
      await bridge.close();
      await intruder.close();
      await endpoint.close(3000);
    }
  });
}
