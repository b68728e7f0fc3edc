import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir, freePort, redeploy } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { portOpen } from '../support/net';
import { errorsOf, lastStatusOf } from '../support/node-calls';

afterEach(async () => {
  await helper.unload();
});

const creds = { dev: { deviceKey: DEVICE_KEY } };

/** The pipeline's listeners: the broker's MQTT and websocket ports, flm-tmpo's HTTP API. */
function flow(dataDir: string, ports: { mqtt: number; ws: number; api: number }) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    { id: 'sim', type: 'flm-simulator', seed: '1', speed: '600', start: '2026-06-21T08:00:00Z', wires: [['sensor']] },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['broker', 'readings']] },
    {
      id: 'tmpo',
      type: 'flm-tmpo',
      device: 'dev',
      maxMB: '0',
      apiHost: '127.0.0.1',
      apiPort: String(ports.api),
      wires: [['broker', 'blocks']],
    },
    {
      id: 'broker',
      type: 'flm-broker',
      host: '127.0.0.1',
      port: String(ports.mqtt),
      wsPort: String(ports.ws),
      access: 'read-only-anonymous',
    },
    { id: 'readings', type: 'helper' },
    { id: 'blocks', type: 'helper' },
  ]);
}

async function hold(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
  return s;
}

for (const which of ['mqtt', 'ws', 'api'] as const) {
  const what = { mqtt: "flm-broker's MQTT port", ws: "flm-broker's websocket port", api: "flm-tmpo's API port" }[which];
  test(`${what} busy: a red status and one error, the other nodes keep working; once the port is free a redeploy listens`, async () => {
    await withDataDir(async (dir) => {
      const ports = { mqtt: await freePort(), ws: await freePort(), api: await freePort() };
      const blocker = await hold(ports[which]);
      const f = flow(dir, ports);
      try {
        await helper.load(flmNodes, f, creds);
        const failing = helper.getNode(which === 'api' ? 'tmpo' : 'broker');
        const other = helper.getNode(which === 'api' ? 'broker' : 'tmpo');
        const message = {
          mqtt: `MQTT port ${ports.mqtt} on 127.0.0.1 is already in use`,
          ws: `MQTT websocket port ${ports.ws} on 127.0.0.1 is already in use`,
          api: `API port ${ports.api} on 127.0.0.1 is already in use`,
        }[which];
        await waitFor('the error', () => errorsOf(failing).includes(message));
        assert.equal(lastStatusOf(failing).fill, 'red');
        const readings = collect('readings');
        await waitFor('readings keep coming', () => readings.length >= 10, 15_000);
        // Readings still sent to a broker that could not start are counted, not an error each.
        const errors = errorsOf(failing).length;
        assert.ok(errors <= 2, `${errors} errors`);
        await waitFor('more readings', () => readings.length >= 40, 15_000);
        assert.equal(errorsOf(failing).length, errors, 'no error per reading');
        if (which === 'api') {
          // The store works without its API: blocks are still written and the broker serves.
          const blocks = collect('blocks');
          const T = 1750507008; // a level-8 window start (multiple of 256)
          for (let i = 0; i < 50; i++)
            failing.receive({ topic: `/sensor/${sid(2)}/counter`, payload: [T + i * 5, 1000 + i, 'Wh'] });
          failing.receive({ topic: 'tmpo/flush' });
          await waitFor('a block written', () => blocks.find((m) => m.topic?.includes('/tmpo/0/8/')));
          await waitFor('the block counted', () =>
            new RegExp(`^API port ${ports.api} .* · 1 blocks`).test(lastStatusOf(failing).text ?? ''),
          );
          assert.equal(lastStatusOf(failing).fill, 'red');
          assert.match(lastStatusOf(other).text ?? '', /^0 clients/);
          assert.equal(await portOpen(ports.mqtt), true);
        } else {
          await waitFor('flm-tmpo serving', () => lastStatusOf(other).fill === 'green');
          assert.equal(await portOpen(ports.api), true);
        }
      } finally {
        await new Promise((r) => blocker.close(r));
      }
      await redeploy(f, 'full', creds);
      const again = helper.getNode(which === 'api' ? 'tmpo' : 'broker');
      await waitFor('green after the redeploy', () => lastStatusOf(again).fill === 'green');
      assert.deepEqual(errorsOf(again), []);
      // a full deploy restarts every node: the other node's port may open a moment after this one is green
      for (const p of [ports.mqtt, ports.ws, ports.api]) {
        let open = await portOpen(p);
        for (let i = 0; i < 100 && !open; i++) {
          await new Promise((r) => setTimeout(r, 100));
          open = await portOpen(p);
        }
        assert.equal(open, true, `port ${p} listens`);
      }
    });
  });
}
