/**
 * flm-dashboard naming an flm-server (server mode, issue #17): the history of every device's
 * sensors, who sees what. Two users' devices in a real server store (written through the store's
 * own addReadings, as the HTTP and MQTT ingestion do), a sensor of A's shared with B; the admin
 * (the editor's login) sees all, B's master token its own and the shared sensor only, and the
 * series of sensors of two devices match the server's own REST answer for the same range. Live:
 * uploads posted to the server's HTTP port reach the event stream of the admin and of the users
 * who may see the sensor, never another user's.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { xDigest } from '../../core/upload/digest';
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

type Reading = { sid: string; kind: string; ts: number; value: number; unit: string };
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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

    // Live: an upload stored on the server reaches the event streams of those who may see its
    // sensor, and no other (the admin all three, Alice her two, Bob his own and the shared one).
    const http = createServer(helper._httpAdmin);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}/flm/dashboard/api/dash/events`;
    const streams: Array<{ stop: () => void }> = [];
    const open = async (token?: string) => {
      const ctl = new AbortController();
      const r = await fetch(base, { signal: ctl.signal, headers: token ? { 'X-Token': token } : {} });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
      const got: Reading[] = [];
      void (async () => {
        let buf = '';
        for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
          buf += Buffer.from(chunk).toString('utf8');
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const frame = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (ev === 'reading' && data) got.push(JSON.parse(data) as Reading);
          }
        }
      })().catch(() => undefined);
      streams.push({ stop: () => ctl.abort() });
      return got;
    };
    try {
      const admin = await open();
      const alice = await open(tokenA);
      const bob = await open(tokenB);
      await fetch(base, { headers: { 'X-Token': 'f'.repeat(32) } }).then((r) => assert.equal(r.status, 401));
      const now = Math.floor(Date.now() / 1000) - 60;
      const post = async (sid: string, measurements: Array<[number, number]>) => {
        const body = JSON.stringify({ measurements });
        const r = await fetch(`http://127.0.0.1:${apiPort}/sensor/${sid}`, {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'application/json', 'X-Version': '1.0', 'X-Digest': xDigest(KEY, body) },
        });
        assert.equal(r.status, 200, await r.text());
      };
      // a minute of 10 Wh: 600 W; of 5 Wh: 300 W; of 2 Wh: 120 W
      await post(A1, [
        [now - 60, 5000],
        [now, 5010],
      ]);
      await post(A2, [
        [now - 60, 6000],
        [now, 6005],
      ]);
      await post(B1, [
        [now - 60, 7000],
        [now, 7002],
      ]);
      const want = (sid: string, counter: number, watt: number): Reading[] => [
        { sid, kind: 'counter', ts: now, value: counter, unit: 'Wh' },
        { sid, kind: 'gauge', ts: now, value: watt, unit: 'W' },
      ];
      const bySid = (list: Reading[]) => [...list].sort((a, b) => cmp(a.sid, b.sid) || cmp(a.kind, b.kind));
      await waitFor('the admin got all three', () => admin.length >= 6, 10_000);
      await waitFor('Alice got her two', () => alice.length >= 4, 10_000);
      await waitFor('Bob got his and the shared one', () => bob.length >= 4, 10_000);
      assert.deepEqual(bySid(admin), [...want(A1, 5010, 600), ...want(A2, 6005, 300), ...want(B1, 7002, 120)]);
      assert.deepEqual(bySid(alice), [...want(A1, 5010, 600), ...want(A2, 6005, 300)]);
      assert.deepEqual(bySid(bob), [...want(A1, 5010, 600), ...want(B1, 7002, 120)]);
      // A page opened later gets the newest readings it may see at once.
      const bobLater = await open(tokenB);
      await waitFor('the late page got the newest', () => bobLater.length >= 4, 10_000);
      // A late upload (older than what is shown) changes nothing; the next one goes to Bob only.
      await post(B1, [[now - 30, 7001]]);
      await post(B1, [[now + 30, 7004]]);
      await waitFor("Bob's next reading", () => bob.length >= 6, 10_000);
      assert.deepEqual(
        bob.slice(4),
        want(B1, 7004, 240).map((r) => ({ ...r, ts: now + 30 })),
      );
      assert.deepEqual(bySid(bobLater.slice(0, 4)), [...want(A1, 5010, 600), ...want(B1, 7002, 120)]);
      assert.equal(alice.length, 4, 'nothing of B1 for Alice');
      assert.ok([...admin, ...alice, ...bob, ...bobLater].every((r) => r.ts >= now));
    } finally {
      for (const s of streams) s.stop();
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });
});

test('flm-dashboard naming a server node that is not there: a red status saying so, nothing served', async () => {
  await helper.load([server, dashboard], onTab([{ id: 'dash', type: 'flm-dashboard', server: 'nowhere' }]));
  const dash = helper.getNode('dash');
  await waitFor('a red status', () => dash.status.called && dash.status.lastCall.args[0].fill === 'red', 8000);
  assert.match(String(dash.status.lastCall.args[0].text), /no flm-server node nowhere/);
  assert.deepEqual((await helper.request().get('/flm/dashboard/api/list').expect(200)).body, []);
});
