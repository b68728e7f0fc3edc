import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TmpoStore } from '../../../core/tmpo/store';
import { encodeSeries, decodeSeries } from '../../../core/tmpo/codec';
import { TmpoFormatError } from '../../../core/tmpo/block';
import { blockPath, quarantineDir, type BlockKey, type Level } from '../../../core/tmpo/ids';
import { CFG, SID_A, SID_B, T0, filesBelow, prng, withTempDir } from './support';

const key = (lvl: Level, bid: number, sid = SID_A, rid = 0): BlockKey => ({ sid, rid, lvl, bid });
const blockFor = (k: BlockKey, n = 3): Buffer =>
  encodeSeries(
    { times: Array.from({ length: n }, (_, i) => k.bid + i), values: Array.from({ length: n }, (_, i) => 1000 + i) },
    CFG,
  );

/** A block whose values do not compress away, so its size dwarfs a one-sample block. */
function noisyBlockFor(k: BlockKey, n: number): Buffer {
  const rnd = prng(k.bid + k.sid.length);
  let v = 1000;
  return encodeSeries(
    {
      times: Array.from({ length: n }, (_, i) => k.bid + i),
      values: Array.from({ length: n }, () => (v += Math.floor(rnd() * 5000))),
    },
    CFG,
  );
}

async function writeRaw(dataDir: string, k: BlockKey, bytes: Uint8Array): Promise<string> {
  const path = blockPath(dataDir, k);
  await fs.mkdir(dirname(path), { recursive: true });
  await fs.writeFile(path, bytes);
  return path;
}

test('put, read, has and list blocks; nothing is kept but the files', async () => {
  await withTempDir(async (dir) => {
    const { store, warnings } = await TmpoStore.open(dir);
    assert.deepEqual(warnings, []);
    const k8 = key(8, T0);
    const k12 = key(12, T0);
    const kB = key(8, T0, SID_B, 1);
    for (const k of [k8, k12, kB]) assert.equal((await store.put(k, blockFor(k))).status, 'written');
    assert.ok(await store.has(k8));
    assert.equal(await store.has(key(8, T0 + 256)), false);
    assert.deepEqual(await store.read(k8), blockFor(k8));
    assert.equal(await store.read(key(8, T0 + 256)), undefined);
    assert.deepEqual(decodeSeries((await store.read(k12))!).times, [T0, T0 + 1, T0 + 2]);
    assert.deepEqual(await store.list(), [k12, k8, kB]);
    assert.deepEqual(await store.list({ sid: SID_A, lvl: 8 }), [k8]);
    assert.deepEqual(await store.sensors(), [SID_A, SID_B]);
    assert.deepEqual(await store.rids(SID_B), [1]);
    assert.equal(store.totalBytes, blockFor(k8).length + blockFor(k12).length + blockFor(kB).length);
  });
});

test('atomic writes leave no temp files behind', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.put(key(8, T0 + i * 256), blockFor(key(8, T0 + i * 256)))),
    );
    const files = await filesBelow(dir);
    assert.equal(files.length, 20);
    assert.ok(
      files.every((f) => /^tmpo\/sensor\/[0-9a-f]+\/0\/8\/\d+$/.test(f)),
      files.join('\n'),
    );
  });
});

test('an existing block is never overwritten', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const k = key(8, T0);
    await store.put(k, blockFor(k, 3));
    const r = await store.put(k, blockFor(k, 5));
    assert.equal(r.status, 'exists');
    assert.deepEqual(await store.read(k), blockFor(k, 3));
  });
});

test('a bad or misplaced block is refused, not stored', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await assert.rejects(store.put(key(8, T0), gzipSync('{"h":')), TmpoFormatError);
    await assert.rejects(store.put(key(8, T0), blockFor(key(8, T0 + 256))), /outside the window/);
    await assert.rejects(store.put(key(8, T0 + 2 ** 21), blockFor(key(8, T0))), /outside the window/);
    await assert.rejects(store.put({ sid: '../x', rid: 0, lvl: 8, bid: T0 }, blockFor(key(8, T0))), RangeError);
    assert.deepEqual(await filesBelow(dir), []);
  });
});

test('at open, corrupt blocks are moved to quarantine with a warning, never deleted', async () => {
  await withTempDir(async (dir) => {
    const good = key(8, T0);
    await writeRaw(dir, good, blockFor(good));
    const full = blockFor(key(8, T0 + 256));
    const damaged: Array<[BlockKey, Buffer, RegExp]> = [
      [key(8, T0 + 256), full.subarray(0, full.length - 8), /gzip/],
      [key(8, T0 + 512), gzipSync('{"h":{"head":[1,1],"tail":'), /not valid JSON|must be/],
      [key(8, T0 + 768), gzipSync(`{"t":[0],"h":{"head":[${T0 + 768},1],"tail":[${T0 + 768},1]},"v":[0]}`), /must be/],
      [key(8, T0 + 1024), Buffer.from('plain text'), /gzip/],
      [key(8, T0 + 1280), blockFor(key(8, T0 + 1536)), /outside the window/],
      [key(8, T0 + 1536), Buffer.alloc(0), /gzip/],
    ];
    for (const [k, bytes] of damaged) await writeRaw(dir, k, bytes);
    const stray = join(dir, 'tmpo', 'sensor', SID_A, '0', '8', 'notes.txt');
    await fs.writeFile(stray, 'hello');

    const { store, warnings } = await TmpoStore.open(dir);
    const quarantined = warnings.filter((w) => w.kind === 'quarantined');
    assert.equal(quarantined.length, damaged.length + 1);
    for (const [k, bytes, reason] of damaged) {
      const w = quarantined.find((q) => q.path === blockPath(dir, k));
      assert.ok(w, `warning for ${k.bid}`);
      assert.match(w.reason, reason);
      assert.ok(w.movedTo!.startsWith(quarantineDir(dir)));
      assert.deepEqual(await fs.readFile(w.movedTo!), bytes, 'quarantined bytes kept as they were');
    }
    assert.ok(quarantined.some((w) => w.path === stray));
    assert.deepEqual(await store.list(), [good]);
    assert.equal(store.totalBytes, blockFor(good).length);
  });
});

test('at open, temp files of interrupted writes are removed and reported', async () => {
  await withTempDir(async (dir) => {
    const k = key(8, T0);
    const path = await writeRaw(dir, k, blockFor(k));
    const temp = join(dirname(path), `.${T0 + 256}.0123abcd.tmp`);
    await fs.writeFile(temp, 'half a block');
    const { store, warnings } = await TmpoStore.open(dir);
    assert.deepEqual(
      warnings.map((w) => [w.kind, w.path]),
      [['temp-removed', temp]],
    );
    assert.deepEqual(await filesBelow(join(dir, 'tmpo', 'sensor')), [`${SID_A}/0/8/${T0}`]);
    assert.deepEqual(await store.list(), [k]);
  });
});

test('quarantine() moves a block that went bad after open', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const k = key(8, T0);
    await store.put(k, blockFor(k));
    const w = await store.quarantine(k, 'checked by hand');
    assert.equal(await store.has(k), false);
    assert.deepEqual(await fs.readFile(w.movedTo!), blockFor(k));
    assert.equal(store.totalBytes, 0);
  });
});

test('disk budget: the oldest level-20 blocks of all sensors go first, the new block stays', async () => {
  await withTempDir(async (dir) => {
    const W = 2 ** 20;
    const b20 = [W * 1350, W * 1351, W * 1352];
    const old = [key(20, b20[0]!), key(20, b20[0]!, SID_B), key(20, b20[1]!), key(20, b20[2]!, SID_B)];
    const recent = [key(12, b20[2]! + W + 4096), key(8, b20[2]! + W)];
    const size = new Map<BlockKey, number>();
    {
      const { store } = await TmpoStore.open(dir);
      for (const k of [...old, ...recent]) {
        const bytes = noisyBlockFor(k, k.lvl === 8 ? 250 : 500);
        size.set(k, bytes.length);
        await store.put(k, bytes);
      }
    }
    const total = [...size.values()].reduce((a, b) => a + b, 0);

    // A budget that the oldest window's two blocks (both sensors, as tmpod gc20 does) bring us to.
    const budget = total - size.get(old[0]!)! - size.get(old[1]!)!;
    const { store, evicted } = await TmpoStore.open(dir, { maxBytes: budget });
    assert.deepEqual(evicted, [old[0], old[1]]);
    assert.equal(store.totalBytes, budget);

    // A small new block: the next oldest level-20 block makes room, lower levels stay.
    const fresh = key(8, b20[2]! + W + 256);
    const r = await store.put(fresh, blockFor(fresh, 1));
    assert.equal(r.status, 'written');
    assert.deepEqual(r.evicted, [old[2]]);
    assert.deepEqual(await store.list(), [recent[0], recent[1], fresh, old[3]]);
  });
});

test('disk budget: with no level-20 block left, the oldest lower-level blocks go, never the one just written', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir, { maxBytes: 1 });
    const a = key(8, T0);
    const b = key(8, T0 + 256);
    assert.deepEqual((await store.put(a, blockFor(a))).evicted, []);
    assert.deepEqual((await store.put(b, blockFor(b))).evicted, [a]);
    assert.deepEqual(await store.list(), [b]);
  });
});
