import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { helper, flmNodes, onTab, waitFor, collect, statuses, withDataDir, freePort } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { decodeSeries } from '../../core/tmpo/codec';
import { journalPath } from '../../core/tmpo/open-journal';
import { existsSync } from 'node:fs';

/** Every warning a node logs. */
function warnings(id: string): string[] {
  const got: string[] = [];
  helper.getNode(id).on('call:warn', (call: any) => got.push(String(call.args[0])));
  return got;
}

afterEach(async () => {
  await helper.unload();
});

const T = 1750507008; // a level-8 window start (multiple of 256)
const flow = (dataDir: string, sensors = HOUSEHOLD_SENSORS) =>
  onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors },
    { id: 'tmpo', type: 'flm-tmpo', device: 'dev', maxMB: '0', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
const creds = { dev: { deviceKey: DEVICE_KEY } };
const reading = (s: string, kind: string, ts: number, v: number, unit = 'Wh') => ({
  topic: `/sensor/${s}/${kind}`,
  payload: [ts, v, unit],
});

test('flm-tmpo stores counters in TMPO blocks and publishes each block on its FLM topic', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const out = collect('out');
    await waitFor('the sync request at start', () => out.find((m) => m.topic === `/device/${DEVICE_ID}/tmpo/sync`));
    const t = helper.getNode('tmpo');
    for (let i = 0; i < 50; i++) t.receive(reading(sid(2), 'counter', T + i * 5, 1000 + i));
    t.receive(reading(sid(2), 'gauge', T + 1, 300, 'W')); // solar stores counters: a gauge is ignored
    t.receive({ topic: 'tmpo/flush' });
    const block = await waitFor('a block message', () => out.find((m) => m.topic?.includes('/tmpo/0/8/')));
    assert.equal(block.topic, `/sensor/${sid(2)}/tmpo/0/8/${T}/gz`);
    assert.equal(block.retain, false);
    assert.ok(Buffer.isBuffer(block.payload));
    assert.deepEqual([...block.payload.subarray(0, 2)], [0x1f, 0x8b]);
    const s = decodeSeries(block.payload);
    assert.equal(s.times.length, 50);
    assert.equal(s.values.at(-1), 1049);
  });
});

test('flm-tmpo: the tmpo/sync command publishes the sync request again (the upload bridge asks after each connect)', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const out = collect('out');
    const caught = collect('caught');
    const sync = { topic: `/device/${DEVICE_ID}/tmpo/sync`, payload: '', retain: false, qos: 0 };
    await waitFor('the sync request at start', () => out.length === 1);
    helper.getNode('tmpo').receive({ topic: 'tmpo/sync' });
    await waitFor('a second sync request', () => out.length === 2);
    for (const m of out) assert.deepEqual({ topic: m.topic, payload: m.payload, retain: m.retain, qos: m.qos }, sync);
    assert.deepEqual(caught, []);
  });
});

test('flm-tmpo: bad input reaches Catch and never touches stored blocks', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const caught = collect('caught');
    const out = collect('out');
    const t = helper.getNode('tmpo');
    const warns = warnings('tmpo');
    const status = statuses('tmpo');
    await waitFor('started', () => out.length > 0);
    t.receive(reading('f'.repeat(32), 'counter', T, 1));
    t.receive({ topic: 'hello', payload: 1 });
    t.receive({ topic: `/device/${DEVICE_ID}/config/sensor`, payload: {} }); // from flm-sensor: passed over
    t.receive({ topic: `/sensor/${sid(3)}/counter`, payload: 'nope' });
    t.receive(reading(sid(3), 'counter', T + 10, 5, 'L'));
    t.receive(reading(sid(3), 'counter', T + 10, 6, 'L'));
    t.receive({ topic: `/d/device/${DEVICE_ID}/tmpo/sync`, payload: '[{"sid":1}]' });
    await waitFor('four errors', () => caught.length === 4);
    const texts = caught.map((c) => c.error.message).join('\n');
    assert.match(texts, /unknown sensor f{32}/);
    assert.match(texts, /not a reading topic: "hello"/);
    assert.match(texts, /payload must be \[ts,value,"unit"\]/);
    // a reading that is well formed but cannot be stored is counted, not an error per reading
    await waitFor('the count of what was not stored', () =>
      warns.find((w) => /readings not stored \(horizon 6 h\): gas \(a+3\): 1 out-of-order$/.test(w)),
    );
    await waitFor('the count in the status', () => status.find((st) => /1 not stored/.test(st.text ?? '')));
    assert.match(texts, /sync request is not a list of \{sid,rid,lvl,bid\}/);
    t.receive({ topic: 'tmpo/flush' });
    const block = await waitFor('the good reading stored', () =>
      out.find((m) => m.topic === `/sensor/${sid(3)}/tmpo/0/8/${T}/gz`),
    );
    assert.deepEqual(decodeSeries(block.payload).values, [5]);
  });
});

test('flm-tmpo: a redeploy keeps the open block (journal) and a sync request re-publishes what the server lacks', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    let t = helper.getNode('tmpo');
    let out = collect('out');
    await waitFor('started', () => out.length > 0);
    for (let i = 0; i < 10; i++) t.receive(reading(sid(4), 'counter', T + i, i, 'L'));
    await new Promise((r) => setTimeout(r, 100));
    await helper.unload();

    await helper.load(flmNodes, flow(dir), creds);
    t = helper.getNode('tmpo');
    out = collect('out');
    await waitFor('started again', () => out.length > 0);
    for (let i = 10; i < 20; i++) t.receive(reading(sid(4), 'counter', T + i, i, 'L'));
    t.receive({ topic: 'tmpo/flush' });
    const block = await waitFor('the block', () => out.find((m) => m.topic === `/sensor/${sid(4)}/tmpo/0/8/${T}/gz`));
    assert.deepEqual(
      decodeSeries(block.payload).values,
      Array.from({ length: 20 }, (_, i) => i),
      'samples from before and after the redeploy',
    );

    // The window is long past, so compaction has already joined it up to level 20; the sync
    // must re-publish whatever holds those samples now.
    await new Promise((r) => setTimeout(r, 300));
    const before = out.length;
    const caught = collect('caught');
    t.receive({
      topic: `/d/device/${DEVICE_ID}/tmpo/sync`,
      payload: JSON.stringify([{ sid: sid(4), rid: 0, lvl: 0, bid: 0 }]),
    });
    const again = await waitFor(
      'the samples re-published',
      () =>
        out.slice(before).find((m) => m.topic?.startsWith(`/sensor/${sid(4)}/tmpo/0/`)) ||
        (caught[0] && assert.fail(caught[0].error.message)),
    );
    assert.deepEqual(
      decodeSeries(again.payload).values,
      Array.from({ length: 20 }, (_, i) => i),
    );
    const stale = out.length;
    t.receive({
      topic: `/d/device/${DEVICE_ID}/tmpo/sync`,
      payload: [{ sid: sid(4), rid: 0, lvl: 20, bid: 1750073344 }],
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(out.length, stale, 'nothing newer than what the server has: nothing re-published');
  });
});

test('flm-tmpo serves the FLM local API, and the TMPO API with a token of its own, derived from the device key but not the key', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    const f = flow(dir);
    (f.find((n) => n.id === 'tmpo') as Record<string, unknown>).apiPort = String(port);
    await helper.load(flmNodes, f, creds);
    const t = helper.getNode('tmpo');
    const out = collect('out');
    await waitFor('started', () => out.length > 0);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 5; i++) t.receive(reading(sid(1), 'gauge', now - 5 + i, 100 + i, 'W'));
    for (let i = 0; i < 5; i++) t.receive(reading(sid(1), 'counter', T + i, i));
    t.receive({ topic: 'tmpo/flush' });
    await waitFor('a block', () => out.find((m) => m.topic?.startsWith(`/sensor/${sid(1)}/tmpo/`)));
    const base = `http://127.0.0.1:${port}`;

    const local = await fetch(`${base}/sensor/${sid(1)}?version=1.0&interval=minute&unit=watt`);
    assert.equal(local.status, 200);
    const points = (await local.json()) as Array<[number, number | string]>;
    // one point a second from the first gauge of the last minute up to now (docs/protocols/tmpo.md#local-api)
    assert.deepEqual(points.slice(0, 5), [
      [now - 5, 100],
      [now - 4, 101],
      [now - 3, 102],
      [now - 2, 103],
      [now - 1, 104],
    ]);
    assert.ok(points.length <= 60);
    points.forEach(([ts], i) => assert.equal(ts, now - 5 + i));
    assert.ok(
      points.some(([, v]) => v === 'nan'),
      'seconds without a gauge are "nan"',
    );
    const bad = await fetch(`${base}/sensor/${sid(1)}?interval=minute`);
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${base}/sensor/${'f'.repeat(32)}?version=1.0&interval=minute&unit=watt`)).status, 404);

    // The device key signs uploads and is the bridge password: it is no API token.
    const deviceKey = creds.dev.deviceKey;
    const byKey = await fetch(`${base}/sensor/${sid(1)}/tmpo/sync?rid=0&lvl=8&bid=0`, {
      headers: { 'X-Version': '1.0', 'X-Token': deviceKey },
    });
    assert.equal(byKey.status, 401, 'the device key is refused as an API token');
    const shown = (await helper.request().get('/flm-tmpo/tmpo/api-token').expect(200)).body as {
      token: string;
      own: boolean;
    };
    assert.equal(shown.own, false);
    assert.match(shown.token, /^[0-9a-f]{32}$/);
    assert.notEqual(shown.token, deviceKey);
    assert.equal(
      shown.token,
      createHmac('sha256', deviceKey).update('flm tmpo api token v1').digest('hex').slice(0, 32),
      'reproducible from the key (README: openssl dgst -hmac)',
    );
    const headers = { 'X-Version': '1.0', 'X-Token': shown.token };
    const sync = await fetch(`${base}/sensor/${sid(1)}/tmpo/sync?rid=0&lvl=8&bid=0`, { headers });
    assert.equal(sync.status, 200);
    const list = (await sync.json()) as Array<{ rid: number; lvl: number; bid: number }>;
    assert.ok(list.length >= 1);
    const blk = await fetch(`${base}/sensor/${sid(1)}/tmpo/${list[0]!.rid}/${list[0]!.lvl}/${list[0]!.bid}`, {
      headers,
    });
    assert.equal(blk.status, 200);
    assert.deepEqual(decodeSeries(Buffer.from(await blk.arrayBuffer())).values, [0, 1, 2, 3, 4]);
    const wrong = await fetch(`${base}/sensor/${sid(1)}/tmpo/sync?rid=0&lvl=8&bid=0`, {
      headers: { ...headers, 'X-Token': '0'.repeat(32) },
    });
    assert.equal(wrong.status, 401);
  });
});

test('flm-tmpo keeps an API token set in its dialog, and the derived one then no longer opens the API', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    const own = '0123456789abcdef0123456789abcdef';
    const f = flow(dir);
    (f.find((n) => n.id === 'tmpo') as Record<string, unknown>).apiPort = String(port);
    await helper.load(flmNodes, f, { ...creds, tmpo: { apiToken: own } });
    const out = collect('out');
    await waitFor('started', () => out.length > 0);
    const shown = (await helper.request().get('/flm-tmpo/tmpo/api-token').expect(200)).body as {
      token: string;
      own: boolean;
    };
    assert.deepEqual(shown, { token: own, own: true });
    const sync = (token: string) =>
      fetch(`http://127.0.0.1:${port}/sensor/${sid(1)}/tmpo/sync?rid=0&lvl=8&bid=0`, {
        headers: { 'X-Version': '1.0', 'X-Token': token },
      });
    assert.equal((await sync(own)).status, 200);
    const derived = createHmac('sha256', creds.dev.deviceKey)
      .update('flm tmpo api token v1')
      .digest('hex')
      .slice(0, 32);
    assert.equal((await sync(derived)).status, 401);
    assert.equal((await sync(creds.dev.deviceKey)).status, 401);
  });
});

test('flm-tmpo: disabling one sensor and removing another with open blocks in the journal: it starts, and every open sample is in the next blocks', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    let t = helper.getNode('tmpo');
    let out = collect('out');
    await waitFor('started', () => out.length > 0);
    for (let i = 0; i < 10; i++) {
      t.receive(reading(sid(1), 'counter', T + i, 100 + i));
      t.receive(reading(sid(3), 'counter', T + i, 200 + i, 'L'));
      t.receive(reading(sid(4), 'counter', T + i, 300 + i, 'L'));
    }
    await new Promise((r) => setTimeout(r, 100));
    await helper.unload();
    assert.ok(existsSync(journalPath(dir)), 'open blocks kept in open.json');

    // gas disabled, water gone from the table
    const edited = HOUSEHOLD_SENSORS.filter((s) => s.id !== sid(4)).map((s) =>
      s.id === sid(3) ? { ...s, enable: false } : s,
    );
    await helper.load(flmNodes, flow(dir, edited), creds);
    t = helper.getNode('tmpo');
    out = collect('out');
    const caught = collect('caught');
    await waitFor(
      'started with the edited table',
      () =>
        out.find((m) => m.topic === `/device/${DEVICE_ID}/tmpo/sync`) ||
        (caught[0] && assert.fail(caught[0].error.message)),
    );
    for (let i = 10; i < 20; i++) t.receive(reading(sid(1), 'counter', T + i, 100 + i));
    t.receive({ topic: 'tmpo/flush' });
    const blockOf = (n: number) => out.find((m) => m.topic === `/sensor/${sid(n)}/tmpo/0/8/${T}/gz`);
    await waitFor('the blocks of all three', () => blockOf(1) && blockOf(3) && blockOf(4));
    assert.deepEqual(
      decodeSeries(blockOf(1).payload).values,
      Array.from({ length: 20 }, (_, i) => 100 + i),
      'main: before and after the edit',
    );
    assert.deepEqual(
      decodeSeries(blockOf(3).payload).values,
      Array.from({ length: 10 }, (_, i) => 200 + i),
      "the disabled sensor's open samples are written, not lost",
    );
    assert.deepEqual(
      decodeSeries(blockOf(4).payload).values,
      Array.from({ length: 10 }, (_, i) => 300 + i),
      "the removed sensor's too",
    );
    assert.deepEqual(caught, []);
  });
});
