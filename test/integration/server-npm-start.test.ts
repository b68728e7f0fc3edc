import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startPipeline } from '../support/start-pipeline';
import { freePort } from '../support/nodered';
import { tempDir } from '../support/temp-dir';
import { runFlm } from '../support/cli';
import { deriveSensorId } from '../../core/config/identity';

const DEVICE_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const DEVICE_KEY = 'f9e8d7c6b5a4938271605f4e3d2c1b0a';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test(
  'FLM_MODE=server npm start takes a device-mode npm start (flm-upload over HTTP and the MQTT bridge); its readings show in the REST API',
  { timeout: 150_000 },
  async () => {
    const serverDir = await tempDir('flm-server-');
    const data = join(serverDir.path, 'data');
    const sids = [1, 2, 3, 4].map((n) => deriveSensorId(DEVICE_ID, String(n)));
    const user = await runFlm(['server', 'user', 'add', 'alice', '--data', data]);
    assert.equal(user.code, 0, user.err);
    const token = user.out.trim();
    const dev = await runFlm(['server', 'device', 'add', DEVICE_ID, DEVICE_KEY, '--user', 'alice', '--data', data]);
    assert.equal(dev.code, 0, dev.err);

    const bridgePort = await freePort();
    const server = await startPipeline({
      FLM_MODE: 'server',
      FLM_DATA_DIR: data,
      FLM_USER_DIR: join(serverDir.path, 'user'),
      FLM_BRIDGE_PORT: String(bridgePort),
      FLM_LOG_LEVEL: 'info',
    });
    let device: Awaited<ReturnType<typeof startPipeline>> | undefined;
    try {
      const api = await until(
        'the API URL in the start output',
        async () => {
          if (server.run.proc.exitCode !== null) assert.fail(`server npm start exited: ${server.run.output()}`);
          return /Flukso server API on (http:\/\/\S+)/.exec(server.run.output())?.[1];
        },
        40_000,
      );
      const caFile = /bridge_cafile\)? (\S+ca\.crt)/.exec(server.run.output())?.[1];
      assert.equal(caFile, join(data, 'server-tls', 'ca.crt'), server.run.output());
      await until(
        'the bridge endpoint',
        async () => (server.run.output().includes('mqtts://') ? true : undefined),
        20_000,
      );
      assert.equal((await fetch(`${api}health`)).status, 200);

      device = await startPipeline({
        FLM_SIM_SPEED: '60',
        FLM_DEVICE_ID: DEVICE_ID,
        FLM_DEVICE_KEY: DEVICE_KEY,
        FLM_SERVER_URL: api,
        FLM_UPLOAD_INTERVAL: '1',
        FLM_UPLOAD_WAYS: 'both',
        FLM_BRIDGE_HOST: '127.0.0.1',
        FLM_BRIDGE_PORT: String(bridgePort),
        FLM_BRIDGE_CA: caFile!,
      });

      // The main (analog) sensor's power shows in the REST API, read with the account's master token.
      const now = Math.floor(Date.now() / 1000);
      const rest = await until(
        'watts of the main sensor in the REST API',
        async () => {
          if (device!.run.proc.exitCode !== null) assert.fail(`device npm start exited: ${device!.run.output()}`);
          const r = await fetch(
            `${api}sensor/${sids[0]}?start=${now - 600}&end=${now + 6 * 3600}&resolution=minute&unit=watt`,
            { headers: { 'X-Version': '1.0', 'X-Token': token } },
          );
          if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
          const series = (await r.json()) as Array<[number, number | 'nan']>;
          return series.some(([, v]) => typeof v === 'number' && v > 0) ? series : undefined;
        },
        60_000,
      );
      assert.ok(rest.every(([, v]) => v === 'nan' || v >= 0));

      const health = await until(
        'posts, a heartbeat and bridge blocks counted',
        async () => {
          const h = (await (await fetch(`${api}health`)).json()) as {
            ok: boolean;
            store: { stored: number; duplicates: number };
            ingest: { posts: number; heartbeats: number; rejects: Record<string, number> };
          };
          return h.ingest.posts > 0 && h.ingest.heartbeats > 0 ? h : undefined;
        },
        30_000,
      );
      assert.equal(health.ok, true);
      assert.deepEqual(health.ingest.rejects, {}, 'every POST was signed right');

      // The server dashboard on the editor's port: the editor login or Alice's master token (X-Token).
      assert.match(server.run.output(), /flm: dashboard of every device on http:\/\/\S+\/flm\/dashboard\//);
      const dash = `http://127.0.0.1:${server.ui}/flm/dashboard/api/`;
      assert.equal((await fetch(`${dash}list`)).status, 401, 'no data without a login');
      assert.equal((await fetch(`${dash}list`, { headers: { 'X-Token': 'a'.repeat(32) } })).status, 401);
      const asAlice = { headers: { 'X-Token': token } };
      const listed = (await (await fetch(`${dash}list`, asAlice)).json()) as Array<{ id: string }>;
      assert.deepEqual(
        listed.map((d) => d.id),
        ['srv.dashboard'],
      );
      const state = (await (await fetch(`${dash}srv.dashboard/state`, asAlice)).json()) as {
        sensors: Array<{ sid: string; did: string; owner: string }>;
      };
      assert.ok(state.sensors.some((s) => s.sid === sids[0] && s.did === DEVICE_ID && s.owner === 'alice'));
      const dashSeries = await fetch(
        `${dash}srv.dashboard/series/${sids[0]}?start=${now - 600}&resolution=60`,
        asAlice,
      );
      assert.equal(dashSeries.status, 200, await dashSeries.clone().text());

      // Another token reads nothing; the sensor's data came from this device only.
      const other = await fetch(`${api}sensor/${sids[0]}?interval=hour`, {
        headers: { 'X-Version': '1.0', 'X-Token': 'a'.repeat(32) },
      });
      assert.equal(other.status, 401);

      assert.equal(await device.run.stop(), 0, device.run.output());
      assert.equal(await server.run.stop(), 0, server.run.output());
    } catch (err) {
      if (process.env.FLM_TEST_DEBUG) console.log(server.run.output(), '\n--- device\n', device?.run.output());
      throw err;
    } finally {
      await device?.run.stop(2000);
      await device?.dir.remove();
      await server.run.stop(2000);
      await server.dir.remove();
      await serverDir.remove();
    }
  },
);
