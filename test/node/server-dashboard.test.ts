/**
 * flm-dashboard naming an flm-server (server mode, issue #17): the history of every device's
 * sensors, who sees what. Two users' devices in a real server store (written through the store's
 * own addReadings, as the HTTP and MQTT ingestion do), a sensor of A's shared with B; the admin
 * (the editor's login) sees all, B's master token its own and the shared sensor only, and the
 * series of sensors of two devices match the server's own REST answer for the same range.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { helper, onTab, waitFor, withDataDir, freePort } from '../support/nodered';
import { FileRegistry } from '../../core/server/registry';
import type { FluksoServer } from '../../core/server/service';

const server = require('../../nodes/flm-server').default;
const dashboard = require('../../nodes/flm-dashboard').default;

const DA = 'da000000000000000000000000000001';
const DB = 'db000000000000000000000000000002';
const KEY = 'ee000000000000000000000000000000';
const A1 = 'a1000000000000000000000000000001'; // A's, shared with B
const A2 = 'a2000000000000000000000000000002'; // A's only
const B1 = 'b1000000000000000000000000000001'; // B's
/** two hours of minutes, a day ago, on whole hours */
const T0 = Math.floor((Date.now() / 1000 - 86400) / 3600) * 3600;
const MINUTES = 120;

afterEach(async () => {
  await helper.unload();
});

const sensorTable = (sid: string, name: string) => ({
  main: {},
  1: { id: sid, type: 'electricity', class: 'analog', function: name, enable: 1, data_type: 'counter' },
});

/** A counter rising by `step(i)` Wh in minute i. */
function counter(step: (i: number) => number) {
  const times: number[] = [];
  const values: number[] = [];
  let c = 1000;
  for (let i = 0; i <= MINUTES; i++) {
    times.push(T0 + i * 60);
    values.push(c);
    c += step(i);
  }
  return { times, values };
}

type Sensors = Array<{ sid: string; did: string; owner: string; name: string }>;

test('flm-dashboard on an flm-server: admin sees every device, a master token its own and shared sensors; series match the REST API', async () => {
  await withDataDir(async (dataDir) => {
    const reg = await FileRegistry.open(join(dataDir, 'server'));
    const tokenA = await reg.addUser('alice');
    const tokenB = await reg.addUser('bob');
    await reg.addDevice(DA, KEY, 'alice', [A1, A2]);
    await reg.addDevice(DB, KEY, 'bob', [B1]);
    await reg.applySensorConfig(DA, { ...sensorTable(A1, 'house'), 2: { ...sensorTable(A2, 'heat pump')[1] } });
    await reg.applySensorConfig(DB, sensorTable(B1, 'flat'));
    await reg.share(A1, 'bob');
    const apiPort = await freePort();
    await helper.load(
      [server, dashboard],
      onTab([
        { id: 'dash', type: 'flm-dashboard', name: 'all devices', server: 'srv' },
        { id: 'srv', type: 'flm-server', dataDir, apiPort: String(apiPort) },
      ]),
    );
    const srv: FluksoServer = await helper.getNode('srv').fluksoServer();
    await srv.store.addReadings(
      A1,
      0,
      counter(() => 1),
    ); // 60 W
    await srv.store.addReadings(
      A2,
      0,
      counter((i) => (i % 2 ? 2 : 4)),
    ); // 120 W / 240 W
    await srv.store.addReadings(
      B1,
      0,
      counter((i) => (i < 60 ? 3 : 5)),
    ); // 180 W, then 300 W
    await srv.store.flush();

    const api = (path: string, token?: string) => {
      const r = helper.request().get(`/flm/dashboard/api/${path}`);
      return token ? r.set('X-Token', token) : r;
    };
    await waitFor('the server dashboard listed', async () => (await api('list')).body.length === 1, 5000);
    assert.deepEqual((await api('list')).body, [{ id: 'dash', name: 'all devices', device: 'server' }]);

    // The admin (the editor's login; the test helper has no adminAuth): every device's sensors.
    const all = (await api('dash/state').expect(200)).body as { server: boolean; sensors: Sensors };
    assert.equal(all.server, true);
    assert.deepEqual(
      all.sensors.map((s) => [s.owner, s.did, s.name, s.sid]),
      [
        ['alice', DA, 'heat pump', A2],
        ['alice', DA, 'house', A1],
        ['bob', DB, 'flat', B1],
      ],
    );
    // Bob's master token: his sensor and the one Alice shared, nothing else.
    const bob = (await api('dash/state', tokenB).expect(200)).body as { sensors: Sensors };
    assert.deepEqual(bob.sensors.map((s) => s.sid).sort(), [A1, B1]);
    const alice = (await api('dash/state', tokenA).expect(200)).body as { sensors: Sensors };
    assert.deepEqual(alice.sensors.map((s) => s.sid).sort(), [A1, A2]);
    const range = `start=${T0 + 600}&end=${T0 + 6600}&resolution=60`;
    await api(`dash/series/${A2}?${range}`, tokenB).expect(403);
    await api(`dash/series/${B1}?${range}`, tokenA).expect(403);
    await api(`dash/series/${B1}?${range}`, 'ffffffffffffffffffffffffffffffff').expect(401);
    await api('dash/state', 'ffffffffffffffffffffffffffffffff').expect(401);
    await api(`dash/series/${'c'.repeat(32)}?${range}`).expect(404); // no such sensor, for the admin
    await api(`dash/series/${'c'.repeat(32)}?${range}`, tokenB).expect(403); // nor said to a token
    await api('list', 'ffffffffffffffffffffffffffffffff').expect(401);
    assert.deepEqual((await api('list', tokenB).expect(200)).body, [
      { id: 'dash', name: 'all devices', device: 'server' },
    ]);
    await api('dash/events').expect(404);

    // The series of two devices' sensors, as Bob sees them, against the server's REST answer.
    for (const sid of [A1, B1]) {
      const dash = (await api(`dash/series/${sid}?${range}`, tokenB).expect(200)).body as {
        series: Array<[number, number | 'nan']>;
      };
      const rest = await fetch(`http://127.0.0.1:${apiPort}/sensor/${sid}?${range}`, {
        headers: { 'X-Version': '1.0', 'X-Token': tokenB },
      });
      assert.equal(rest.status, 200);
      const want = (await rest.json()) as Array<[number, number | 'nan']>;
      assert.equal(want.length, 100);
      assert.deepEqual(dash.series, want, `sensor ${sid}`);
      assert.ok(want.every(([, v]) => typeof v === 'number' && v > 0));
    }
    // The compact answer the page uses carries the same values (B1: 180 W for the first hour, then 300 W).
    const f64 = await api(`dash/series/${B1}?${range}&format=f64`, tokenB)
      .buffer(true)
      .parse((res: NodeJS.ReadableStream, cb: (err: Error | null, body: Buffer) => void) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => cb(null, Buffer.concat(parts)));
      })
      .expect(200);
    const values = new Float64Array(new Uint8Array(f64.body as Buffer).buffer);
    assert.equal(values.length, 100);
    assert.deepEqual([values[0], values[49], values[50], values[99]], [180, 180, 300, 300]);
  });
});

test('flm-dashboard naming a server node that is not there: a red status saying so, nothing served', async () => {
  await helper.load([server, dashboard], onTab([{ id: 'dash', type: 'flm-dashboard', server: 'nowhere' }]));
  const dash = helper.getNode('dash');
  await waitFor('a red status', () => dash.status.called && dash.status.lastCall.args[0].fill === 'red', 8000);
  assert.match(String(dash.status.lastCall.args[0].text), /no flm-server node nowhere/);
  assert.deepEqual((await helper.request().get('/flm/dashboard/api/list').expect(200)).body, []);
});
