/**
 * Published counters never go down across redeploys and restarts of the broker: the simulator
 * at speed 60 feeds flm-sensor into flm-broker, and the flow is redeployed in full (sensor and
 * broker restart) and with only the broker changed, while fresh subscribers watch each time.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, withDataDir, freePort, redeploy } from '../support/nodered';
import { DEVICE_ID, DEVICE_KEY, HOUSEHOLD_SENSORS } from '../support/device';

afterEach(async () => {
  await helper.unload();
});

const creds = { dev: { deviceKey: DEVICE_KEY } };

function flow(dataDir: string, port: number, brokerName: string) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    {
      id: 'sim',
      type: 'flm-simulator',
      seed: '7',
      speed: '60',
      phase: '1',
      start: '2026-06-21T11:00:00Z',
      solarPeakW: '',
      wires: [['sensor']],
    },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['broker']] },
    {
      id: 'broker',
      type: 'flm-broker',
      name: brokerName,
      host: '127.0.0.1',
      port: String(port),
      wsPort: '',
      access: 'open',
    },
  ]);
}

async function watch(port: number) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const values = new Map<string, number[]>();
  client.on('message', (topic, payload) => {
    const list = values.get(topic) ?? [];
    list.push((JSON.parse(payload.toString()) as number[])[1]!);
    values.set(topic, list);
  });
  await client.subscribeAsync('/sensor/+/counter');
  return { values, close: () => client.endAsync(true) };
}

/** A fresh subscriber, once the (re)started broker listens. */
async function connected(port: number) {
  for (let tries = 0; ; tries++) {
    try {
      return await watch(port);
    } catch (err) {
      if (tries >= 200) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test(
  'counters never go down across full redeploys and broker-only redeploys, for fresh subscribers too',
  { timeout: 120_000 },
  async () => {
    await withDataDir(async (dir) => {
      const port = await freePort();
      await helper.load(flmNodes, flow(dir, port, 'b0'), creds);
      const before = new Map<string, number>();
      const problems: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const w = await connected(port);
        try {
          await waitFor('counters moving', () => [...w.values.values()].some((l) => l.length >= 3), 30_000, 50);
        } finally {
          await w.close();
        }
        for (const [topic, list] of w.values) {
          const floor = before.get(topic) ?? -Infinity;
          if (list[0]! < floor)
            problems.push(`deploy ${i}: ${topic} first got ${list[0]}, below ${floor} published before`);
          list.forEach(
            (v, k) =>
              k > 0 && v < list[k - 1]! && problems.push(`deploy ${i}: ${topic} went from ${list[k - 1]} to ${v}`),
          );
          before.set(topic, Math.max(floor, ...list));
        }
        // Odd rounds restart everything, even ones only the broker (its name changed).
        if (i % 2) await redeploy(flow(dir, port, `b${i - 1}`), 'full', creds);
        else await redeploy(flow(dir, port, `b${i}`), 'nodes', creds);
      }
      assert.deepEqual(problems, []);
      assert.ok(before.size >= 2, `counters seen: ${before.size}`);
    });
  },
);
