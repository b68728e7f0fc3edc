import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, withDataDir, freePort } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY } from '../support/device';
import { subscriber } from '../support/mqtt-clients';
import { untilListening } from '../support/net';

afterEach(async () => {
  await helper.unload();
});

const creds = { dev: { deviceKey: DEVICE_KEY } };

/** As the default flow: flm-broker's output (HA's birth message) into flm-homeassistant, back into the broker. */
const flow = (dataDir: string, port: number) =>
  onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    {
      id: 'ha',
      type: 'flm-homeassistant',
      device: 'dev',
      prefix: 'homeassistant',
      deviceName: '',
      staleAfter: '',
      wires: [['broker']],
    },
    {
      id: 'broker',
      type: 'flm-broker',
      host: '127.0.0.1',
      port: String(port),
      wsPort: '',
      access: 'read-only-anonymous',
      outTopics: 'homeassistant/status',
      wires: [['ha']],
    },
  ]);

test("HA's birth message through flm-broker's output re-announces every config; a flood of them is one announcement a second", async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    await helper.load(flmNodes, flow(dir, port), creds);
    const url = `mqtt://127.0.0.1:${port}`;
    await untilListening(port);
    const ha = await subscriber(url, ['homeassistant/sensor/#', `flm/${DEVICE_ID}/availability`]);
    await waitFor('the first announcement', () =>
      ha.got.find((m) => m.topic.endsWith('/availability') && m.payload === 'online'),
    );
    const configs = new Set(ha.got.filter((m) => m.topic.startsWith('homeassistant/sensor/')).map((m) => m.topic));
    assert.ok(configs.size >= 4);
    const oneTopic = [...configs][0]!;
    const announcements = () => ha.got.filter((m) => m.topic === oneTopic && !m.retain).length;

    const birth = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'home-assistant' });
    await birth.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await waitFor(
      'every config again, live',
      () =>
        configs.size === new Set(ha.got.filter((m) => !m.retain && configs.has(m.topic)).map((m) => m.topic)).size ||
        undefined,
    );
    const before = announcements();

    const t0 = Date.now();
    for (let i = 0; i < 300; i++) await birth.publishAsync('homeassistant/status', 'online', { qos: 1 });
    const floodMs = Date.now() - t0;
    // The burst ends with one more announcement, at most a second after it.
    await waitFor('the announcement after the flood', () => announcements() > before);
    const during = announcements() - before;
    assert.ok(
      during <= Math.ceil(floodMs / 1000) + 2,
      `${during} announcements for 300 birth messages in ${floodMs} ms`,
    );
    await Promise.all([birth.endAsync(), ha.client.endAsync()]);
  });
});
