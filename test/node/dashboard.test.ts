import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, flmNodes, onTab, waitFor, collect, statuses, withDataDir } from '../support/nodered';
import { DEVICE_ID, DEVICE_KEY, sid } from '../support/device';

afterEach(async () => {
  await helper.unload();
});

const SENSORS = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], voltage: 230, current: 50 },
  { n: 2, id: sid(2), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
];
const creds = { dev: { deviceKey: DEVICE_KEY } };

function flow(dataDir: string, dashboard: Record<string, unknown> = {}) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: SENSORS },
    { id: 'dash', type: 'flm-dashboard', device: 'dev', name: 'home', ...dashboard },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

test('flm-dashboard: the device sensors and the readings it takes are served; its status counts them', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const dash = helper.getNode('dash');
    const st = statuses('dash');
    // The routes answer once the node has started.
    let body: { id: string }[] = [];
    for (let i = 0; i < 50 && body.length === 0; i++) {
      body = (await helper.request().get('/flm/dashboard/api/list').expect(200)).body as { id: string }[];
      if (!body.length) await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(body, [{ id: 'dash', name: 'home', device: DEVICE_ID }]);
    dash.receive({ topic: `/sensor/${sid(1)}/gauge`, payload: [1781000000, 420, 'W'] });
    dash.receive({ topic: `/sensor/${sid(2)}/counter`, payload: [1781000000, 5000, 'Wh'] });
    await waitFor('the status counts 2 readings', () => st.some((s) => s.text === '2 readings, 0 pages open'), 3000);
    const state = (await helper.request().get('/flm/dashboard/api/dash/state').expect(200)).body as {
      sensors: Array<{ sid: string; name: string; role: string; gauge?: { value: number } }>;
    };
    assert.deepEqual(
      state.sensors.map((s) => [s.name, s.role]),
      [
        ['main', 'consumption'],
        ['solar', 'production'],
      ],
    );
    assert.equal(state.sensors[0]!.gauge?.value, 420);
  });
});

test('flm-dashboard: a reading that is not [ts, value, "unit"] is an error a Catch node sees, not a crash', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const caught = collect('caught');
    const dash = helper.getNode('dash');
    const st = statuses('dash');
    await waitFor('started', () => st.length > 0, 3000);
    dash.receive({ topic: `/sensor/${sid(1)}/gauge`, payload: 'four hundred' });
    await waitFor('the error caught', () => caught.length === 1, 3000);
    assert.match(caught[0].error.message, /payload must be \[ts, value, "unit"\]/);
    dash.receive({ topic: `/sensor/${sid(1)}/gauge`, payload: [1781000000, 1, 'W'] });
    await waitFor('still taking readings', () => st.some((s) => s.text === '1 readings, 0 pages open'), 3000);
  });
});

test('flm-dashboard: without a device, a red status; after close, it is no longer served', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, { device: '' }), creds);
    const dash = helper.getNode('dash');
    await waitFor('a red status', () => dash.status.called && dash.status.lastCall.args[0].fill === 'red', 3000);
    const body = (await helper.request().get('/flm/dashboard/api/list').expect(200)).body as unknown[];
    assert.deepEqual(body, []);
    assert.equal((await helper.request().get('/flm/dashboard/api/dash/state')).status, 404);
  });
});
