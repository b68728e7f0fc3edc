import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { syncSelection, withoutCovered } from '../../../core/api/blocks';
import { TmpoStore } from '../../../core/tmpo/store';
import { blockId, compareKeys } from '../../../core/tmpo/ids';
import { TmpoPyClient } from '../../support/tmpo-py-client';
import {
  SID_A,
  SID_B,
  T20,
  TOKEN_A,
  TOKEN_B,
  TOKEN_NOBODY,
  counterSeries,
  key,
  levelsOf,
  newBuilder,
  putSeries,
  record,
  slice,
  withServer,
  withTempDir,
} from './support';

const tokens = { [SID_A]: TOKEN_A, [SID_B]: TOKEN_B };
const span = (lvl: number): number => 2 ** lvl;

test('a tmpo-py client syncs a full multi-level history from us, in three rounds, and ends with exactly the series', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const close1 = T20 + span(20) + 3 * span(16) + 5 * span(12) + 7 * span(8) + 100;
    const close2 = T20 + 2 * span(20) + 2 * span(16) + 2 * span(12) + 300;
    const end = T20 + 2 * span(20) + 3 * span(16) + 5 * span(12) + 7 * span(8) + 130;
    // sparse (gaps up to 16000 s) except where the level-12 and level-8 blocks of each round are
    // (from 16000 s earlier, so that no sparse step jumps over one of them)
    const near = (t: number, close: number, before: number) => t >= close - before - 16000 && t < close + 500;
    const dense = (t: number) =>
      near(t, close1, 6 * span(12)) || near(t, close2, 3 * span(12)) || near(t, end, 6 * span(12));
    const all = counterSeries(7, T20 + 1000, end, 60, dense);
    const builder = newBuilder();
    await withServer({ store, tokens }, async (base) => {
      const client = new TmpoPyClient(base);
      client.add(SID_A, TOKEN_A);

      // Round 1: a level-20 block, then 16s, 12s and 8s of the next window.
      await record(store, builder, slice(all, 0, close1), close1);
      const stored1 = await store.list();
      assert.deepEqual(levelsOf(stored1), [20, 16, 12, 8]);
      assert.deepEqual(
        stored1.map((k) => k.lvl),
        [20, 16, 16, 16, 12, 12, 12, 12, 12, 8, 8, 8, 8, 8, 8, 8],
      );
      await client.sync(SID_A);
      assert.equal(client.requests.length, 1 + stored1.length);
      assert.match(client.requests[0]!, /\/tmpo\/sync\?rid=0&lvl=0&bid=0$/);
      assert.deepEqual(client.series(SID_A), slice(all, 0, blockId(close1, 8)));

      // Round 2: compaction turned what the client holds into parents; it gets only those and
      // what is new, and its own clean leaves exactly our blocks.
      await record(store, builder, slice(all, close1, close2), close2);
      const before = client.requests.length;
      const last = client.lastBlock(SID_A)!;
      await client.sync(SID_A);
      assert.ok(client.requests[before]!.endsWith(`sync?rid=0&lvl=${last.lvl}&bid=${last.bid}`));
      const stored2 = await store.list();
      assert.equal(
        client.requests.length - before,
        1 + stored2.filter((k) => k.bid + span(k.lvl) - 1 > last.bid + span(last.lvl) - 1).length,
      );
      assert.deepEqual(
        client.list(SID_A).map((r) => ({ sid: r.sid, rid: r.rid, lvl: r.lvl, bid: r.bid })),
        stored2,
      );
      assert.deepEqual(client.series(SID_A), slice(all, 0, blockId(close2, 8)));

      // Round 3: everything flushed.
      await record(store, builder, slice(all, close2, end), end + 256);
      await client.sync(SID_A);
      const stored3 = await store.list();
      assert.deepEqual(levelsOf(stored3), [20, 16, 12, 8]);
      assert.deepEqual(
        client.list(SID_A).map((r) => ({ sid: r.sid, rid: r.rid, lvl: r.lvl, bid: r.bid })),
        stored3,
      );
      const got = client.series(SID_A);
      assert.equal(got.times.length, all.times.length);
      assert.deepEqual(got, all);
      // and the bytes are ours unchanged
      for (const row of client.rows)
        assert.deepEqual(row.data, await store.read({ sid: SID_A, rid: row.rid, lvl: row.lvl as 8, bid: row.bid }));

      // Nothing new: an empty list, and no block is fetched again.
      const n = client.requests.length;
      await client.sync(SID_A);
      assert.equal(client.requests.length, n + 1);
    });
  });
});

test('tmpo-js style auth in the query string works too; the poll throttle of tmpo-py is honoured by the client', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const s = counterSeries(3, T20, T20 + 3 * span(8));
    await record(store, newBuilder(), s, T20 + 3 * span(8));
    await withServer({ store, tokens }, async (base) => {
      const client = new TmpoPyClient(base, { auth: 'query' });
      client.add(SID_A, TOKEN_A);
      await client.sync();
      assert.deepEqual(client.series(SID_A), s);
      const throttled = new TmpoPyClient(base, { now: () => T20 + 2 * span(8) + 10 });
      throttled.add(SID_A, TOKEN_A);
      await throttled.sync();
      assert.equal(throttled.rows.length, 3);
      await throttled.sync();
      assert.equal(throttled.requests.length, 4, 'synced less than 256 s after its last block: no request');
    });
  });
});

test("tokens and versions: 401 without or with an unknown token, 403 with another sensor's, 400 when malformed, 404 for unknown sensors", async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await putSeries(store, key(8, T20), { times: [T20 + 1, T20 + 2], values: [1, 2] });
    const master = 'abcdefabcdefabcdefabcdefabcdefab';
    await withServer({ store, tokens, masterToken: master }, async (base) => {
      const sync = `${base}/sensor/${SID_A}/tmpo/sync?rid=0&lvl=0&bid=0`;
      const get = (url: string, headers: Record<string, string>) => fetch(url, { headers });
      const v = { 'X-Version': '1.0' };

      const none = await get(sync, v);
      assert.equal(none.status, 401);
      assert.ok(none.headers.get('www-authenticate'));
      assert.equal((await get(sync, { ...v, 'X-Token': TOKEN_NOBODY })).status, 401);
      const other = await get(sync, { ...v, 'X-Token': TOKEN_B });
      assert.equal(other.status, 403);
      assert.match(await other.text(), /not valid for sensor/);
      assert.equal((await get(`${sync}&token=${TOKEN_NOBODY}&version=1.0`, {})).status, 401);
      assert.equal((await get(`${base}/sensor/${SID_A}/tmpo/0/8/${T20}`, { ...v, 'X-Token': TOKEN_B })).status, 403);

      assert.equal((await get(sync, { ...v, 'X-Token': 'NOT-A-TOKEN' })).status, 400);
      assert.equal(
        (await get(`${sync}&token=${TOKEN_A}`, { ...v, 'X-Token': TOKEN_A })).status,
        400,
        'header and query both',
      );
      assert.equal((await get(`${sync}&version=1.0`, { ...v, 'X-Token': TOKEN_A })).status, 400, 'version twice');
      assert.equal((await get(sync, { 'X-Token': TOKEN_A })).status, 400, 'no version');
      assert.equal((await get(sync, { 'X-Version': '2.0', 'X-Token': TOKEN_A })).status, 400, 'wrong version');

      const ok = await get(sync, { ...v, 'X-Token': TOKEN_A });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('x-version'), '1.0');
      assert.equal(ok.headers.get('access-control-allow-origin'), '*');
      assert.equal(ok.headers.get('content-type'), 'application/json');
      assert.equal(await ok.text(), `[{"rid":0,"lvl":8,"bid":${T20},"ext":"gz"}]`);
      assert.equal((await get(sync, { ...v, 'X-Token': master })).status, 200, 'master token');
      assert.equal(
        (await get(`${base}/sensor/${SID_B}/tmpo/sync?rid=0&lvl=0&bid=0`, { ...v, 'X-Token': TOKEN_B })).status,
        200,
      );

      for (const q of [
        'rid=0&lvl=0',
        'rid=x&lvl=0&bid=0',
        'rid=0&lvl=0&bid=-5',
        'rid=0&lvl=0&bid=1.5',
        'rid=0&lvl=99&bid=0',
      ]) {
        const r = await get(`${base}/sensor/${SID_A}/tmpo/sync?${q}`, { ...v, 'X-Token': TOKEN_A });
        assert.equal(r.status, 400, q);
        assert.match(await r.text(), /^Malformed request: (rid|lvl|bid|the bid)/, q);
      }

      const unknown = await get(`${base}/sensor/00000000000000000000000000000000/tmpo/sync?rid=0&lvl=0&bid=0`, {
        ...v,
        'X-Token': TOKEN_A,
      });
      assert.equal(unknown.status, 404);
      for (const path of [`0/8/${T20 + 256}`, `0/9/${T20}`, `0/8/${T20 + 1}`, `x/8/${T20}`, `1/8/${T20}`]) {
        const r = await get(`${base}/sensor/${SID_A}/tmpo/${path}`, { ...v, 'X-Token': TOKEN_A });
        assert.equal(r.status, 404, path);
      }
    });
  });
});

test('block GET: the stored gzip bytes for application/gzip, the same bytes as gzip-encoded JSON for application/json', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await putSeries(store, key(8, T20), { times: [T20 + 1, T20 + 2, T20 + 200], values: [10, 12.5, 20] });
    const stored = (await store.read(key(8, T20)))!;
    await withServer({ store, tokens }, async (base) => {
      const url = `${base}/sensor/${SID_A}/tmpo/0/8/${T20}`;
      const gz = await fetch(url, { headers: { 'X-Version': '1.0', 'X-Token': TOKEN_A, Accept: 'application/gzip' } });
      assert.equal(gz.status, 200);
      assert.equal(gz.headers.get('content-type'), 'application/gzip');
      assert.equal(gz.headers.get('content-encoding'), null);
      assert.deepEqual(Buffer.from(await gz.arrayBuffer()), stored);

      const json = await fetch(`${url}?version=1.0&token=${TOKEN_A}`, { headers: { Accept: 'application/json' } });
      assert.equal(json.headers.get('content-type'), 'application/json');
      assert.equal(json.headers.get('content-encoding'), 'gzip');
      assert.equal(await json.text(), gunzipSync(stored).toString('utf8'), 'fetch inflates it, as a browser does');
      assert.equal(json.headers.get('access-control-allow-origin'), '*');
    });
  });
});

test('sync selection: rid and tail filtering as the Flukso server, children of a stored parent left out', async () => {
  const k = (lvl: 8 | 12 | 16 | 20, bid: number, rid = 0) => key(lvl, bid, SID_A, rid);
  const stored = [
    k(20, T20),
    k(16, T20 + span(20)),
    k(12, T20 + span(20) + span(16)),
    k(8, T20 + span(20) + span(16) + span(12)),
    k(8, T20 + span(20) + span(16) + span(12) + 256),
    k(8, T20 + span(20), 1),
    k(8, T20 + span(20) + 256, 1),
    // a parent written, its children not yet removed
    k(8, T20 + span(20) + span(16)),
    k(8, T20 + span(20) + span(16) + 256),
  ].sort(compareKeys);
  assert.deepEqual(withoutCovered(stored).length, stored.length - 2);
  const from = (rid: number, lvl: number, bid: number) => syncSelection(stored, { rid, lvl, bid });
  assert.deepEqual(from(0, 0, 0), withoutCovered(stored));
  // after the level-16 block: later ones only (bid >= its bid rounded to 2^20, tail after its tail)
  // (the rid-1 blocks end before the client's tail, so the server leaves them out too)
  assert.deepEqual(from(0, 16, T20 + span(20)), [
    k(12, T20 + span(20) + span(16)),
    k(8, T20 + span(20) + span(16) + span(12)),
    k(8, T20 + span(20) + span(16) + span(12) + 256),
  ]);
  assert.deepEqual(from(1, 8, T20 + span(20)), [k(8, T20 + span(20) + 256, 1)]);
  assert.deepEqual(from(2, 0, 0), []);
  // an old lower-level block outside every parent breaks the order tmpo-py relies on
  assert.equal(syncSelection([k(12, T20 + 4096), k(8, T20)], { rid: 0, lvl: 0, bid: 0 }), 'inconsistent');
});

test('an inconsistent store is answered with 597 after the retries; JSONP on sync', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await putSeries(store, key(12, T20 + 4096), { times: [T20 + 4100], values: [1] });
    await putSeries(store, key(8, T20), { times: [T20 + 1], values: [0] });
    await putSeries(store, key(8, T20, SID_B), { times: [T20 + 1], values: [0] });
    await withServer({ store, tokens }, async (base) => {
      const h = { 'X-Version': '1.0', 'X-Token': TOKEN_A };
      const r = await fetch(`${base}/sensor/${SID_A}/tmpo/sync?rid=0&lvl=0&bid=0`, { headers: h });
      assert.equal(r.status, 597);
      assert.match(await r.text(), /do not follow each other in time/);
      const p = await fetch(`${base}/sensor/${SID_B}/tmpo/sync?rid=0&lvl=0&bid=0&callback=got`, {
        headers: { 'X-Version': '1.0', 'X-Token': TOKEN_B },
      });
      assert.equal(await p.text(), `got([{"rid":0,"lvl":8,"bid":${T20},"ext":"gz"}]);`);
    });
  });
});
