/**
 * flm-homeassistant with a broker that is not ours: its messages (and the readings) leave through
 * Node-RED's own `mqtt out` node and its `mqtt-broker` config node (mqtt.js inside), with a login,
 * to an external broker; Home Assistant, a client of that broker, sees retained configs and states.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, withDataDir, nodeRedPath } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid, T0 } from '../support/device';
import { EmbeddedBroker } from '../../core/broker/embedded-broker';

const coreDir = join(
  dirname(require.resolve('@node-red/nodes/package.json', { paths: [dirname(nodeRedPath)] })),
  'core',
);
const mqttNodes = require(join(coreDir, 'network/10-mqtt.js'));
helper.settings({ mqttReconnectTime: 200 });

after(async () => {
  await helper.unload();
});

test('flm-homeassistant → mqtt out → an external broker with a login: HA sees retained configs and states there', async () => {
  const external = await EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: null,
    access: { mode: 'authenticated', username: 'nodered', password: 's3cret' },
  });
  const retainedOnBroker = new Map<string, string>();
  external.aedes.on('publish', (packet, client) => {
    if (client && packet.retain) retainedOnBroker.set(packet.topic, packet.payload.toString());
  });
  try {
    await withDataDir(async (dir) => {
      await helper.load(
        [...flmNodes, mqttNodes],
        onTab([
          { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: HOUSEHOLD_SENSORS },
          { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['ha', 'out']] },
          {
            id: 'ha',
            type: 'flm-homeassistant',
            device: 'dev',
            prefix: 'homeassistant',
            deviceName: '',
            staleAfter: '',
            wires: [['out']],
          },
          {
            id: 'mb',
            type: 'mqtt-broker',
            broker: '127.0.0.1',
            port: String(external.tcpPort),
            clientid: '',
            autoConnect: true,
            usetls: false,
            protocolVersion: '4',
            keepalive: '60',
            cleansession: true,
          },
          // topic, qos and retain come from each message, as flm-homeassistant and flm-sensor set them
          { id: 'out', type: 'mqtt out', topic: '', qos: '', retain: '', broker: 'mb' },
        ]),
        { dev: { deviceKey: DEVICE_KEY }, mb: { user: 'nodered', password: 's3cret' } },
      );
      await waitFor(
        'the mqtt out node connected with its login',
        () => (helper.getNode('mb') as { connected?: boolean }).connected,
        10_000,
      );
      const sensor = helper.getNode('sensor');
      for (let i = 1; i <= 3; i++) {
        sensor.receive({
          topic: 'board/batch',
          payload: { time: T0 + i * 1000, records: [{ kind: 'analog', port: 1, power: 500 + i }] },
        });
      }
      const main = sid(1);
      const cfgTopic = `homeassistant/sensor/${DEVICE_ID}/${main}_gauge/config`;
      // HA connects afterwards: everything it needs must be retained on the external broker.
      // Only once the broker has taken the config and the state does HA connect; before, it would
      // get them live (retain false), which is not what this test is about.
      // The state is the last of the three gauges (503 W).
      await waitFor(
        'the config and the last state published to the external broker',
        () => retainedOnBroker.has(cfgTopic) && /,503,/.test(retainedOnBroker.get(`/sensor/${main}/gauge`) ?? ''),
        10_000,
      );
      const got = new Map<string, { payload: string; retain: boolean }>();
      const client = await mqtt
        .connectAsync(`mqtt://127.0.0.1:${external.tcpPort}`, { reconnectPeriod: 0, username: 'ha', password: 'x' })
        .catch((e: Error) => e);
      assert.ok(client instanceof Error, 'the external broker refuses a wrong login');
      const haClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${external.tcpPort}`, {
        reconnectPeriod: 0,
        username: 'nodered',
        password: 's3cret',
        clientId: 'home-assistant',
      });
      try {
        haClient.on('message', (topic, p, packet) => got.set(topic, { payload: p.toString(), retain: packet.retain }));
        await haClient.subscribeAsync(['homeassistant/#', '/sensor/#', 'flm/#'], { qos: 1 });
        await waitFor(
          'retained discovery config and the main gauge',
          () => got.get(cfgTopic) && got.get(`/sensor/${main}/gauge`),
          10_000,
        );
        const cfg = JSON.parse(got.get(cfgTopic)!.payload);
        assert.equal(got.get(cfgTopic)!.retain, true);
        assert.equal(cfg.unique_id, `${DEVICE_ID}_${main}_gauge`);
        assert.equal(cfg.state_topic, `/sensor/${main}/gauge`);
        assert.equal(cfg.availability_topic ?? cfg.availability?.[0]?.topic, `flm/${DEVICE_ID}/availability`);
        assert.equal(got.get(`flm/${DEVICE_ID}/availability`)?.payload, 'online');
        const state = JSON.parse(got.get(`/sensor/${main}/gauge`)!.payload) as [number, number, string];
        assert.deepEqual(state.slice(1), [503, 'W']);
        assert.ok(
          Number.isInteger(state[0]) && Math.abs(state[0] - (T0 / 1000 + 3)) <= 1,
          `stamped with the batch time: ${state[0]}`,
        );
      } finally {
        await haClient.endAsync();
      }
    });
  } finally {
    await helper.unload();
    await external.close(2000);
  }
});
