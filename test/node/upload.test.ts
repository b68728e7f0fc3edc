import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir, statuses, receiveDone } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { FluksoTestServer } from '../support/flukso-server';

afterEach(async () => {
  await helper.unload();
});

const WRONG_KEY = '0123456789abcdef0123456789abcdef';
const SIDS = HOUSEHOLD_SENSORS.map((s) => s.id!);
const NOW = Math.floor(Date.now() / 1000);

function flow(dataDir: string, upload: Record<string, unknown>) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    { id: 'up', type: 'flm-upload', device: 'dev', interval: '1', filters: 'off', heartbeat: 'off', ...upload },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    { id: 'complete', type: 'complete', scope: ['up'], uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper' },
  ]);
}
const creds = (key = DEVICE_KEY) => ({ dev: { deviceKey: key } });
const reading = (s: string, kind: string, ts: number, v: number, unit = 'Wh') => ({
  topic: `/sensor/${s}/${kind}`,
  payload: [ts, v, unit],
});

async function withServer(fn: (server: FluksoTestServer) => Promise<void>): Promise<void> {
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE_ID, key: DEVICE_KEY, sensors: SIDS }] });
  try {
    await fn(server);
  } finally {
    await helper.unload();
    await server.close();
  }
}

/** The upload node on a test server, with what reaches Catch and its statuses. */
async function loadUpload(dir: string, server: FluksoTestServer) {
  await helper.load(flmNodes, flow(dir, { serverUrl: server.url }), creds());
  return { up: helper.getNode('up'), caught: collect('caught'), st: statuses('up') };
}

test('flm-upload: counters reach the server signed with the device key; gauges and other topics are passed over', async () => {
  await withServer(async (server) => {
    await withDataDir(async (dir) => {
      const { up, caught, st } = await loadUpload(dir, server);
      for (let i = 0; i < 20; i++) up.receive(reading(sid(1), 'counter', NOW - 100 + i, 1000 + i));
      for (let i = 0; i < 5; i++) up.receive(reading(sid(3), 'counter', NOW - 100 + i, 50 + i, 'L'));
      up.receive(reading(sid(1), 'gauge', NOW - 50, 300, 'W'));
      up.receive({ topic: `/device/${DEVICE_ID}/config/sensor`, payload: {} });
      up.receive({ topic: 'hello', payload: 1 });
      up.receive(reading('f'.repeat(32), 'counter', NOW - 50, 7)); // not a sensor of the device
      up.receive(reading(sid(2), 'counter', NOW - 50, 12.5)); // fractional: never uploaded (only whole counters go)
      await waitFor(
        'every counter on the server',
        () => server.count(sid(1)) === 20 && server.count(sid(3)) === 5,
        15_000,
      );
      assert.deepEqual(
        server.readings(sid(1)),
        Array.from({ length: 20 }, (_, i) => [NOW - 100 + i, 1000 + i]),
      );
      assert.equal(server.count(sid(2)), 0);
      assert.equal(server.stats.fractional, 0);
      assert.equal(server.stats.duplicates, 0);
      assert.ok(!server.log.some((r) => r.status === 401), 'every digest checked out');
      const ok = await waitFor('a green status with the last success', () =>
        st.find(
          (s) => s.fill === 'green' && /^0 queued · ok \d\d:\d\d · 1 fractional · 1 unknown sensor$/.test(s.text ?? ''),
        ),
      );
      assert.equal(ok.shape, 'dot');
      assert.deepEqual(caught, []);
      assert.equal(up.error.called, false);
    });
  });
});

test('flm-upload: counters of a sensor outside the device are counted in the status and warned about once a minute, not dropped silently', async () => {
  await withServer(async (server) => {
    await withDataDir(async (dir) => {
      const { up, caught, st } = await loadUpload(dir, server);
      // Taken on the node itself: the helper's spies are gone by the time the node closes.
      const warnings: string[] = [];
      const warn = up.warn.bind(up);
      up.warn = (text: unknown) => {
        warnings.push(String(text));
        warn(text);
      };
      for (let i = 0; i < 5; i++) up.receive(reading('f'.repeat(32), 'counter', NOW - 50 + i, 7 + i));
      up.receive(reading('e'.repeat(32), 'counter', NOW - 50, 7));
      up.receive(reading(sid(1), 'counter', NOW - 40, 1000));
      up.receive(reading(sid(1), 'counter', NOW - 40, 1000)); // again: not after the last one queued
      await waitFor("the device's own counter on the server", () => server.count(sid(1)) === 1, 15_000);
      await waitFor('the six and the repeat counted in the status', () =>
        st.find((s) => / · 6 unknown sensor · 1 not newer$/.test(s.text ?? '')),
      );
      assert.ok(
        warnings.some((w) => new RegExp(`counter ${NOW - 40} of ${sid(1)} not uploaded: not-after-last`).test(w)),
        warnings.join('\n'),
      );
      const said = warnings.filter((w) => /not uploaded: not an enabled sensor of device/.test(w));
      assert.equal(said.length, 1, `one warning for the burst, got ${said.join(' | ')}`);
      assert.match(said[0]!, new RegExp(`counter of sensor ${'f'.repeat(32)} not uploaded`));
      assert.equal(server.count('f'.repeat(32)), 0);
      assert.deepEqual(caught, [], 'passed over on purpose: not a flow error');
      // Closing says how many more there were, so the count is in the log too.
      await helper.unload();
      assert.ok(
        warnings.some((w) => /^5 more like this in the last \d+ s: counter of sensor e{32} not uploaded/.test(w)),
        warnings.join('\n'),
      );
    });
  });
});

test('flm-upload: done() only once the reading is on disk, and a redeploy sends what was left', async () => {
  await withServer(async (server) => {
    await withDataDir(async (dir) => {
      await server.down('refuse');
      await helper.load(flmNodes, flow(dir, { serverUrl: server.url }), creds());
      let up = helper.getNode('up');
      for (let i = 0; i < 10; i++) await receiveDone(up, reading(sid(4), 'counter', NOW - 60 + i, 100 + i, 'L'));
      const files = readdirSync(join(dir, 'upload', sid(4)));
      assert.ok(
        files.some((f) => f.endsWith('.seg')),
        'queued on disk when done() was called',
      );
      const st = statuses('up');
      await waitFor('yellow: retrying with the error', () =>
        st.find((s) => s.fill === 'yellow' && /^10 queued · retrying: .*ECONNREFUSED/.test(s.text ?? '')),
      );
      await helper.unload();

      await server.up();
      await helper.load(flmNodes, flow(dir, { serverUrl: server.url }), creds());
      up = helper.getNode('up');
      await waitFor('the queue drained after the redeploy', () => server.count(sid(4)) === 10, 15_000);
      assert.deepEqual(
        server.readings(sid(4)).map((r) => r[1]),
        Array.from({ length: 10 }, (_, i) => 100 + i),
      );
    });
  });
});

test('flm-upload: a wrong key gives the red "authentication failed" status and keeps the data', async () => {
  await withServer(async (server) => {
    await withDataDir(async (dir) => {
      await helper.load(flmNodes, flow(dir, { serverUrl: server.url }), creds(WRONG_KEY));
      const up = helper.getNode('up');
      const st = statuses('up');
      for (let i = 0; i < 5; i++) await receiveDone(up, reading(sid(1), 'counter', NOW - 30 + i, 10 + i));
      const red = await waitFor('red status', () => st.find((s) => s.fill === 'red'), 15_000);
      assert.equal(red.shape, 'ring');
      assert.match(red.text ?? '', /^5 queued · authentication failed/);
      assert.equal(server.count(sid(1)), 0);
      assert.ok(server.log.some((r) => r.status === 401));
      assert.equal(up.error.called, false, 'a refused key is a status and a warning, not a flow error');
      await helper.unload();

      // The data stayed queued: with the right key it goes out.
      await helper.load(flmNodes, flow(dir, { serverUrl: server.url }), creds(DEVICE_KEY));
      await waitFor('the kept readings arrive with the right key', () => server.count(sid(1)) === 5, 15_000);
    });
  });
});

test('flm-upload: close is bounded even with a request the server never answers', async () => {
  await withServer(async (server) => {
    await withDataDir(async (dir) => {
      server.setFaults({ hangRate: 1 });
      await helper.load(flmNodes, flow(dir, { serverUrl: server.url }), creds());
      const up = helper.getNode('up');
      const warnings: string[] = [];
      up.on('call:warn', (call: any) => warnings.push(String(call.args[0])));
      for (let i = 0; i < 3; i++) await receiveDone(up, reading(sid(1), 'counter', NOW - 30 + i, 10 + i));
      await waitFor('a POST under way', () => server.log.some((r) => r.fault === 'hang'), 15_000);
      const t0 = Date.now();
      await helper.unload();
      const ms = Date.now() - t0;
      assert.ok(ms < 5000, `closed in ${ms} ms`);
      assert.deepEqual(
        warnings.filter((w) => /close took longer/.test(w)),
        [],
      );
      await waitFor('the readings still queued on disk', () =>
        readdirSync(join(dir, 'upload', sid(1))).some((f) => f.endsWith('.seg')),
      );
    });
  });
});

test('flm-upload: a blank server URL is off: grey "no server configured", no error, readings done', async () => {
  await withDataDir(async (dir) => {
    for (const serverUrl of ['', '${FLM_SERVER_URL_NOT_SET}']) {
      await helper.load(flmNodes, flow(dir, { serverUrl }), creds());
      const up = helper.getNode('up');
      const caught = collect('caught');
      await receiveDone(up, reading(sid(1), 'counter', NOW, 1));
      await waitFor('grey status', () => up.status.called && up.status.lastCall.args[0].fill === 'grey');
      assert.deepEqual(up.status.lastCall.args[0], { fill: 'grey', shape: 'ring', text: 'no server configured' });
      assert.equal(up.error.called, false);
      assert.deepEqual(caught, []);
      await helper.unload();
    }
  });
});

test('flm-upload: the heartbeat reports an upgrade offer in the status and acts on nothing', async () => {
  await withServer(async (server) => {
    await withDataDir(async (dir) => {
      server.setHeartbeatReply({ upgrade: 999, digest: 'good' });
      await helper.load(flmNodes, flow(dir, { serverUrl: server.url, heartbeat: 'on' }), creds());
      const up = helper.getNode('up');
      const st = statuses('up');
      const warnings: string[] = [];
      up.on('call:warn', (call: any) => warnings.push(String(call.args[0])));
      await waitFor('a heartbeat', () => server.heartbeats.length > 0);
      assert.equal(server.heartbeats[0]!.deviceId, DEVICE_ID);
      assert.equal(server.heartbeats[0]!.body.reset, 1);
      await waitFor('the offer shown', () => st.find((s) => /upgrade 999 offered/.test(s.text ?? '')));
      await waitFor('the offer logged', () => warnings.some((w) => /offers firmware upgrade 999; ignored/.test(w)));
    });
  });
});
