import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { compact, siblingGroups } from '../../../core/tmpo/compact';
import { mergeBlocks } from '../../../core/tmpo/merge';
import {
  blockJson,
  blockToSeries,
  decodeBlock,
  encodeSeries,
  parseBlockJson,
  seriesToBlock,
} from '../../../core/tmpo/codec';
import { TmpoFormatError, type Series } from '../../../core/tmpo/block';
import { TmpoStore } from '../../../core/tmpo/store';
import { blockPath, type BlockKey, type Level } from '../../../core/tmpo/ids';
import { CFG, SID_A, SID_B, T0, filesBelow, prng, randomSeries, round3, withTempDir } from './support';

const key = (lvl: Level, bid: number, sid = SID_A, rid = 0): BlockKey => ({ sid, rid, lvl, bid });

function concat(parts: Series[]): Series {
  return { times: parts.flatMap((p) => p.times), values: parts.flatMap((p) => p.values) };
}

test('merging follows tmpod: last header with the first head, gaps between children unrounded', () => {
  const a = parseBlockJson(
    `{"h":{"head":[${T0 + 10},100],"tail":[${T0 + 20},101.5],"vsn":1,"cfg":{"rid":0,"function":"old"}},"t":[0,10],"v":[0,1.5]}`,
  );
  const b = parseBlockJson(
    `{"h":{"head":[${T0 + 260},101.6],"tail":[${T0 + 270},103],"vsn":1,"cfg":{"rid":0,"function":"new"}},"t":[0,10],"v":[0,1.4]}`,
  );
  // t gap 260 - 20 = 240; v gap 101.6 - 101.5 in doubles is 0.0999999999999943, which Lua's
  // %.14g prints as 0.099999999999994: tmpod writes the gap unrounded, and so do we.
  assert.equal(
    blockJson(mergeBlocks([a, b])),
    `{"h":{"head":[${T0 + 10},100],"tail":[${T0 + 270},103],"vsn":1,"cfg":{"rid":0,"function":"new"}},"t":[0,10,240,10],"v":[0,1.5,0.099999999999994,1.4]}`,
  );
});

test('merging refuses children that overlap in time', () => {
  const a = seriesToBlock({ times: [T0, T0 + 10], values: [1, 2] }, {});
  const b = seriesToBlock({ times: [T0 + 10, T0 + 20], values: [2, 3] }, {});
  assert.throws(() => mergeBlocks([a, b]), TmpoFormatError);
});

test('sibling groups: runs sharing a parent whose window is past', () => {
  const bids = [T0, T0 + 256, T0 + 3840, T0 + 4096, T0 + 4352, T0 + 8192];
  assert.deepEqual(siblingGroups(8, bids, T0 + 4096), [{ parentBid: T0, bids: [T0, T0 + 256, T0 + 3840] }]);
  assert.deepEqual(
    siblingGroups(8, bids, T0 + 8192).map((g) => g.parentBid),
    [T0, T0 + 4096],
  );
  assert.deepEqual(siblingGroups(8, bids, T0 + 4095), []);
});

test('16 level-8 blocks become one level-12 block equal to their concatenation; children removed', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const rnd = prng(12);
    const parts: Series[] = [];
    for (let i = 0; i < 16; i++) {
      const bid = T0 + i * 256;
      const s = randomSeries(rnd, { start: bid, end: bid + 256, maxSamples: 200, decimals: i % 2 ? 3 : 0 });
      parts.push(s);
      await store.put(key(8, bid), encodeSeries(s, { ...CFG, function: `v${i}` }));
    }
    // the parent window has not passed yet
    assert.deepEqual((await compact(store, T0 + 4095)).events, []);
    assert.equal((await store.list({ lvl: 8 })).length, 16);

    const report = await compact(store, T0 + 4096);
    assert.deepEqual(
      report.events.map((e) => e.kind),
      ['compacted'],
    );
    assert.deepEqual(await store.list(), [key(12, T0)]);
    const parent = (await store.readBlock(key(12, T0)))!;
    assert.equal(parent.h.cfg?.['function'], 'v15', 'cfg of the last child');
    const got = blockToSeries(parent);
    const want = concat(parts);
    assert.deepEqual(got.times, want.times);
    want.values.forEach((v, i) => assert.equal(round3(got.values[i]!), v, `sample ${i}`));
    want.values.forEach((v, i) => assert.ok(Math.abs(got.values[i]! - v) < 1e-6, `sample ${i}`));
  });
});

test('integer counters compact losslessly; a missing child is simply skipped', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const parts: Series[] = [];
    for (const i of [0, 1, 5, 15]) {
      const bid = T0 + i * 256;
      const s = { times: [bid + 1, bid + 100, bid + 255], values: [1000 + i * 10, 1003 + i * 10, 1009 + i * 10] };
      parts.push(s);
      await store.put(key(8, bid), encodeSeries(s, CFG));
    }
    await compact(store, T0 + 4096);
    assert.deepEqual(blockToSeries((await store.readBlock(key(12, T0)))!), concat(parts));
  });
});

test('compaction cascades 8 -> 12 -> 16 -> 20 and the level-20 block decodes to every level-8 sample', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const W = 2 ** 20;
    const start = W * 1352;
    const rnd = prng(2020);
    const parts: Series[] = [];
    // one short burst every ~3 hours over a level-20 window and a bit of the next one
    for (let t = start + 77; t < start + W + 20000; t += 9000 + Math.floor(rnd() * 3000)) {
      const bid = Math.floor(t / 256) * 256;
      const s = randomSeries(rnd, { start: t, end: bid + 256, maxSamples: 20, decimals: 3 });
      if (s.times.length === 0) continue;
      parts.push(s);
      await store.put(key(8, bid), encodeSeries(s, CFG));
    }
    const inWindow = parts.filter((p) => p.times[0]! < start + W);
    const report = await compact(store, start + W + 5000);
    assert.ok(report.events.every((e) => e.kind === 'compacted'));
    const l20 = await store.list({ lvl: 20 });
    assert.deepEqual(l20, [key(20, start)]);
    const got = blockToSeries((await store.readBlock(l20[0]!))!);
    const want = concat(inWindow);
    assert.deepEqual(got.times, want.times);
    want.values.forEach((v, i) => assert.equal(round3(got.values[i]!), v));
    // what lies in the next level-20 window stays below level 20
    const rest = (await store.list()).filter((k) => k.lvl !== 20);
    assert.ok(rest.length > 0 && rest.every((k) => k.bid >= start + W));
  });
});

test('an existing parent is never overwritten; children with samples it lacks are kept and reported', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const parentBytes = encodeSeries({ times: [T0 + 5, T0 + 6], values: [1, 2] }, CFG);
    await store.put(key(12, T0), parentBytes);
    await store.put(key(8, T0 + 512), encodeSeries({ times: [T0 + 600, T0 + 601], values: [3, 4] }, CFG));
    const report = await compact(store, T0 + 4096);
    assert.equal(report.events.length, 1);
    const e = report.events[0]!;
    assert.equal(e.kind, 'parent-exists');
    assert.ok(e.kind === 'parent-exists' && !e.childrenRemoved);
    assert.deepEqual(await store.read(key(12, T0)), parentBytes);
    assert.ok(await store.has(key(8, T0 + 512)));
  });
});

test('children left by a crash after their parent was written are recognised and removed', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const child = (i: number): [BlockKey, Buffer] => [
      key(8, T0 + i * 256),
      encodeSeries({ times: [T0 + i * 256 + 1], values: [i] }, CFG),
    ];
    const kids = [child(0), child(3), child(9)];
    for (const [k, b] of kids) await store.put(k, b);
    await compact(store, T0 + 4096);
    const parentBytes = (await store.read(key(12, T0)))!;
    // the crash: parent durable, children not yet removed
    for (const [k, b] of kids) await store.put(k, b);
    const report = await compact(store, T0 + 4096);
    assert.deepEqual(
      report.events.map((e) => e.kind === 'parent-exists' && e.childrenRemoved),
      [true],
    );
    assert.deepEqual(await store.list(), [key(12, T0)]);
    assert.deepEqual(await store.read(key(12, T0)), parentBytes);
  });
});

test('a child that went bad is quarantined and its group waits; nothing is lost or half-written', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await store.put(key(8, T0), encodeSeries({ times: [T0 + 1], values: [1] }, CFG));
    await store.put(key(8, T0 + 256), encodeSeries({ times: [T0 + 257], values: [2] }, CFG));
    await fs.writeFile(blockPath(dir, key(8, T0 + 256)), gzipSync('{"h":{"head":'));
    const report = await compact(store, T0 + 4096);
    assert.deepEqual(
      report.events.map((e) => e.kind),
      ['quarantined'],
    );
    assert.equal(await store.has(key(12, T0)), false);
    assert.ok(await store.has(key(8, T0)));
    // the next run compacts what is left
    const again = await compact(store, T0 + 4096);
    assert.deepEqual(
      again.events.map((e) => e.kind),
      ['compacted'],
    );
    assert.deepEqual(blockToSeries(decodeBlock((await store.read(key(12, T0)))!)).times, [T0 + 1]);
    assert.equal((await filesBelow(dir)).filter((f) => f.startsWith('tmpo/quarantine/')).length, 1);
  });
});

test('sensors and rids are compacted separately', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    for (const [sid, rid] of [
      [SID_A, 0],
      [SID_A, 1],
      [SID_B, 0],
    ] as const) {
      await store.put(key(8, T0, sid, rid), encodeSeries({ times: [T0 + rid], values: [rid] }, CFG));
    }
    await compact(store, T0 + 4096);
    assert.deepEqual(await store.list(), [key(12, T0, SID_A, 0), key(12, T0, SID_A, 1), key(12, T0, SID_B, 0)]);
  });
});
