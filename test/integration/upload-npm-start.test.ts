import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/nodered';
import { startPipeline } from '../support/start-pipeline';
import { FluksoTestServer } from '../support/flukso-server';
import { deriveSensorId } from '../../core/config/identity';

const DEVICE_ID = '00112233445566778899aabbccddeeff';
const DEVICE_KEY = 'ffeeddccbbaa99887766554433221100';

test(
  'npm start with FLM_SERVER_URL: counters reach the server signed with FLM_DEVICE_KEY; SIGTERM exits 0',
  { timeout: 90_000 },
  async () => {
    // The default flow's sensors get ids derived from the device id and their section number.
    const sids = [1, 2, 3, 4].map((n) => deriveSensorId(DEVICE_ID, String(n)));
    const server = await FluksoTestServer.start({ devices: [{ id: DEVICE_ID, key: DEVICE_KEY, sensors: sids }] });
    const { run, dir } = await startPipeline({
      FLM_SIM_SPEED: '60',
      FLM_DEVICE_ID: DEVICE_ID,
      FLM_DEVICE_KEY: DEVICE_KEY,
      FLM_SERVER_URL: server.url,
      FLM_UPLOAD_INTERVAL: '1',
    });
    try {
      await waitFor(
        'counters of every pulse and analog sensor on the test server',
        () =>
          run.proc.exitCode !== null
            ? assert.fail(`npm start exited: ${run.output()}`)
            : sids.filter((s) => server.count(s) >= 2).length >= 3,
        45_000,
        100,
      );
      const posts = server.log.filter((r) => r.path.startsWith('/sensor/'));
      assert.ok(posts.length > 0);
      // The server answers 401 to a digest that does not match the body under the device's key.
      assert.deepEqual([...new Set(posts.map((r) => r.status))], [200], 'every POST had a valid digest');
      assert.equal(server.stats.duplicates, 0);
      assert.equal(server.stats.fractional, 0, 'only whole counters are uploaded');
      for (const s of sids) {
        const rs = server.readings(s);
        rs.forEach(([ts, v], i) => {
          assert.ok(Number.isInteger(v) && v >= 0);
          if (i) assert.ok(ts > rs[i - 1]![0] && v >= rs[i - 1]![1], 'ascending time, non-decreasing counter');
        });
      }
      await waitFor('the heartbeat at start', () => server.heartbeats.find((h) => h.deviceId === DEVICE_ID), 10_000);

      const code = await run.stop();
      assert.equal(code, 0, run.output());
    } finally {
      await run.stop(2000);
      await server.close();
      await dir.remove();
    }
  },
);
