import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { xDigest } from '../../../core/upload/digest';
import { FluksoServer } from '../../../core/server/service';
import { FileRegistry } from '../../../core/server/registry';
import { TmpoPyClient } from '../../support/tmpo-py-client';
import { withTempDir } from '../../support/temp-dir';

const DID = 'd'.repeat(32);
const KEY = '0123456789abcdef0123456789abcdef';
const S1 = '1'.repeat(32);
const S2 = '2'.repeat(32);
const DID2 = 'e'.repeat(32);
const KEY2 = 'fedcba9876543210fedcba9876543210';
const S3 = '3'.repeat(32);
const T0 = 1_700_000_000 - (1_700_000_000 % 86400); // a UTC midnight

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(
  url: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      { method, headers: body ? { 'Content-Length': String(Buffer.byteLength(body)), ...headers } : headers },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const signed = (key: string, body: string): Record<string, string> => ({
  'Content-Type': 'application/json',
  'X-Version': '1.0',
  'X-Digest': xDigest(key, body),
});

async function setup(dir: string): Promise<{ alice: string; bob: string; sensorToken: (sid: string) => string }> {
  const reg = await FileRegistry.open(`${dir}/server`);
  const alice = await reg.addUser('alice');
  const bob = await reg.addUser('bob');
  await reg.addDevice(DID, KEY, 'alice', [S1, S2]);
  await reg.addDevice(DID2, KEY2, 'bob', [S3]);
  return { alice, bob, sensorToken: (sid) => reg.sensor(sid)!.token };
}

test('POST /sensor: digest, version, codes, exactly once, and counted refusals', async () => {
  await withTempDir(async (dir) => {
    await setup(dir);
    let now = T0 + 7200;
    const server = await FluksoServer.start({ dataDir: dir, port: 0, now: () => now });
    try {
      const body = JSON.stringify({
        measurements: [
          [T0, 1000],
          [T0 + 60, 1010],
          [T0 + 120, 1020.5],
        ],
      });
      const ok = await http(server.url, 'POST', `sensor/${S1}`, body, signed(KEY, body));
      assert.equal(ok.status, 200);
      assert.equal(ok.body, '{"response":"ok"}');
      // Again: one reading each.
      assert.equal((await http(server.url, 'POST', `sensor/${S1}`, body, signed(KEY, body))).status, 200);
      // Wrong key, wrong version, short digest, unknown sensor, both measurements and config.
      const bad = await http(server.url, 'POST', `sensor/${S1}`, body, signed(KEY2, body));
      assert.equal(bad.status, 401);
      assert.equal(bad.headers['www-authenticate'], 'X-Digest');
      assert.equal(
        (await http(server.url, 'POST', `sensor/${S1}`, body, { ...signed(KEY, body), 'X-Version': '2.0' })).status,
        400,
      );
      assert.equal(
        (await http(server.url, 'POST', `sensor/${S1}`, body, { ...signed(KEY, body), 'X-Digest': 'abc' })).status,
        400,
      );
      assert.equal((await http(server.url, 'POST', `sensor/${'9'.repeat(32)}`, body, signed(KEY, body))).status, 404);
      const both = JSON.stringify({ measurements: [[T0 + 180, 1030]], config: { enable: 1 } });
      assert.equal((await http(server.url, 'POST', `sensor/${S1}`, both, signed(KEY, both))).status, 400);
      // The other device's key does not sign for this device's sensor.
      const s3 = JSON.stringify({ measurements: [[T0, 5]] });
      assert.equal((await http(server.url, 'POST', `sensor/${S1}`, s3, signed(KEY2, s3))).status, 401);
      const big = JSON.stringify({ measurements: Array.from({ length: 80_000 }, (_, i) => [T0 + i, i]) });
      assert.equal((await http(server.url, 'POST', `sensor/${S1}`, big, signed(KEY, big))).status, 413);
      assert.deepEqual(server.counters.rejects, {
        'bad-digest': 2,
        version: 1,
        'digest-format': 1,
        'unknown-sensor': 1,
        'bad-body': 1,
        'too-large': 1,
      });
      await server.store.flush();
      const got: Array<[number, number]> = [];
      await server.store.forEachSample(S1, 0, 0, 2 ** 40, (t, v) => got.push([t, v]));
      assert.deepEqual(got, [
        [T0, 1000],
        [T0 + 60, 1010],
      ]);
      assert.equal(server.counters.fractional, 2);

      // Heartbeat: digest of the reply, never an upgrade, resets counted.
      const hb = JSON.stringify({ reset: 1, version: 250, time: now, uptime: 5 });
      const r = await http(server.url, 'POST', `device/${DID}`, hb, signed(KEY, hb));
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { upgrade: 0, timestamp: now });
      assert.equal(r.headers['x-digest'], xDigest(KEY, r.body));
      assert.equal((await http(server.url, 'POST', `device/${DID}`, hb, signed(KEY2, hb))).status, 401);
      assert.equal((await http(server.url, 'POST', `device/${'0'.repeat(32)}`, hb, signed(KEY, hb))).status, 404);
      assert.equal((await server.store.deviceState(DID))?.resets, 1);
      now += 1;
      const health = await http(server.url, 'GET', 'health');
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).ok, true);
    } finally {
      await server.close();
    }
  });
});

test('REST: intervals, resolutions, units, nan gaps, JSONP, tokens and account isolation', async () => {
  await withTempDir(async (dir) => {
    const { alice, bob, sensorToken } = await setup(dir);
    const now = T0 + 4 * 3600 + 30;
    const server = await FluksoServer.start({ dataDir: dir, port: 0, now: () => now, tmpoGrace: 0 });
    try {
      // 1 Wh every 10 s = 360 W, from T0 to T0+1h; then nothing for more than an hour (a gap:
      // both hours it touches are nan); then 720 W.
      const m: Array<[number, number]> = [];
      for (let t = T0; t <= T0 + 3600; t += 10) m.push([t, (t - T0) / 10]);
      for (let t = T0 + 7300; t <= T0 + 4 * 3600; t += 10) m.push([t, 360 + (t - T0 - 7300) / 5]);
      const body = JSON.stringify({ measurements: m });
      assert.equal((await http(server.url, 'POST', `sensor/${S1}`, body, signed(KEY, body))).status, 200);
      const get = (q: string, headers: Record<string, string> = { 'X-Version': '1.0', 'X-Token': alice }) =>
        http(server.url, 'GET', `sensor/${S1}?${q}`, undefined, headers);

      const hourly = await get(`start=${T0}&end=${T0 + 4 * 3600}&resolution=hour`);
      assert.equal(hourly.status, 200, hourly.body);
      assert.deepEqual(JSON.parse(hourly.body), [
        [T0 + 3600, 360],
        [T0 + 7200, 'nan'],
        [T0 + 10800, 'nan'],
        [T0 + 14400, 720],
      ]);
      const minutes = JSON.parse((await get(`start=${T0}&end=${T0 + 600}`)).body) as unknown[];
      assert.equal(minutes.length, 10);
      assert.deepEqual(minutes[0], [T0 + 60, 360]);
      const kwh = JSON.parse((await get(`start=${T0}&end=${T0 + 3600}&resolution=hour&unit=kwhperyear`)).body);
      assert.deepEqual(kwh, [[T0 + 3600, 3153.6]]);
      const eur = JSON.parse((await get(`start=${T0}&end=${T0 + 3600}&resolution=hour&unit=eurperyear`)).body);
      assert.deepEqual(eur, [[T0 + 3600, 567.6]]);
      // interval=hour: the last 60 whole minutes before now, ends of buckets.
      const hour = JSON.parse((await get('interval=hour')).body) as Array<[number, number]>;
      assert.equal(hour.length, 60);
      assert.equal(hour.at(-1)![0], T0 + 4 * 3600);
      assert.equal(hour.at(-1)![1], 720);
      const day = JSON.parse((await get('interval=day')).body) as unknown[];
      assert.equal(day.length, 96);
      const jsonp = await get(`start=${T0}&end=${T0 + 3600}&resolution=hour&callback=cb`);
      assert.equal(jsonp.body, `cb([[${T0 + 3600},360]]);`);
      // Query-string credentials, sensor token, param=all.
      const q = await http(
        server.url,
        'GET',
        `sensor/${S1}?start=${T0}&end=${T0 + 3600}&resolution=hour&version=1.0&token=${sensorToken(S1)}`,
      );
      assert.equal(q.status, 200);
      const params = JSON.parse((await get('param=all')).body);
      assert.equal(params.device, DID);
      // Refusals: both interval and start, no token, header and query both, others' tokens.
      assert.equal((await get(`interval=hour&start=${T0}`)).status, 400);
      assert.equal((await get('interval=hour', { 'X-Version': '1.0' })).status, 401);
      assert.equal(
        (
          await http(server.url, 'GET', `sensor/${S1}?interval=hour&token=${alice}`, undefined, {
            'X-Version': '1.0',
            'X-Token': alice,
          })
        ).status,
        400,
      );
      assert.equal((await get('interval=hour', { 'X-Version': '1.0', 'X-Token': bob })).status, 403);
      assert.equal((await get('interval=hour', { 'X-Version': '1.0', 'X-Token': sensorToken(S2) })).status, 403);
      assert.equal((await get('interval=hour', { 'X-Version': '1.0', 'X-Token': 'a'.repeat(32) })).status, 401);
      // Shared with bob: now he reads it, and still not S2.
      const reg = await FileRegistry.open(`${dir}/server`);
      await reg.share(S1, 'bob');
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await get('interval=hour', { 'X-Version': '1.0', 'X-Token': bob })).status, 200);
      assert.equal(
        (await http(server.url, 'GET', `sensor/${S2}?interval=hour`, undefined, { 'X-Version': '1.0', 'X-Token': bob }))
          .status,
        403,
      );

      // tmpo-py syncs the same samples, up to the last window that is over (a block still
      // filling is not listed: tmpo-py would never fetch it again).
      await server.store.flush();
      const closed = m.filter((p) => p[0] < Math.floor(now / 256) * 256);
      assert.ok(closed.length < m.length);
      const client = new TmpoPyClient(server.url.replace(/\/$/, ''), { now: () => now });
      client.add(S1, alice);
      await client.sync();
      const s = client.series(S1);
      assert.deepEqual(
        s.times,
        closed.map((p) => p[0]),
      );
      assert.deepEqual(
        s.values,
        closed.map((p) => p[1]),
      );
    } finally {
      await server.close();
    }
  });
});

test('tmpo sync lists a window as soon as it is sealed (a later reading came), not 360 s after its end; late readings come at the next sync', async () => {
  await withTempDir(async (dir) => {
    const { alice } = await setup(dir);
    const W = T0 - (T0 % 256) + 3 * 256; // a window's start
    let now = W + 300;
    const server = await FluksoServer.start({ dataDir: dir, port: 0, now: () => now });
    try {
      const post = async (points: Array<[number, number]>) => {
        const body = JSON.stringify({ measurements: points });
        assert.equal((await http(server.url, 'POST', `sensor/${S1}`, body, signed(KEY, body))).status, 200);
      };
      // Readings of the window W, then one of the next: W is complete 44 s after its end.
      await post([
        [W + 10, 1],
        [W + 130, 2],
        [W + 250, 4],
        [W + 290, 5],
      ]);
      await server.store.flush();
      const client = new TmpoPyClient(server.url.replace(/\/$/, ''), { now: () => now });
      client.add(S1, alice);
      await client.sync();
      assert.deepEqual(client.series(S1).times, [W + 10, W + 130, W + 250]);
      // A reading late for W (its block is with the client) and the next window's.
      await post([
        [W + 200, 3],
        [W + 520, 6],
      ]);
      now = W + 600;
      await server.store.flush();
      await client.sync();
      assert.deepEqual(
        [...client.series(S1).times].sort((a, b) => a - b),
        [W + 10, W + 130, W + 200, W + 250, W + 290],
      );
    } finally {
      await server.close();
    }
  });
});
