import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { encodeSeries } from '../../../core/tmpo/codec';
import { compactBlocks } from '../../support/flm-emulator/tmpo-compact';
import { TmpoDisk, type PublishedBlock } from '../../support/flm-emulator/tmpo-disk';
import { blk2series } from '../../support/tmpo-py-client';

const SID = 'b'.repeat(32);
const T0 = 1450000000 - (1450000000 % 65536);

test('compaction joins the text as tmpod does: head of the first, tail and cfg of the last, gaps between', () => {
  const a = encodeSeries({ times: [T0 + 3, T0 + 100], values: [10, 12] }, { id: SID, rid: 0, v: 1 });
  const b = encodeSeries({ times: [T0 + 300], values: [15] }, { id: SID, rid: 0, v: 2 });
  const c = encodeSeries({ times: [T0 + 600, T0 + 700, T0 + 701], values: [20, 25, 27] }, { id: SID, rid: 0, v: 3 });
  const parent = compactBlocks([a, b, c]);
  const text = gunzipSync(parent).toString('utf8');
  assert.match(
    text,
    /^\{"h":\{"head":\[\d+,10\],"tail":\[\d+,27\],"vsn":1,"cfg":\{"id":"b+","rid":0,"v":3\}\},"t":\[0,97,200,300,100,1\],"v":\[0,2,3,5,5,2\]\}$/,
  );
  assert.deepEqual(blk2series('gz', parent), {
    times: [T0 + 3, T0 + 100, T0 + 300, T0 + 600, T0 + 700, T0 + 701],
    values: [10, 12, 15, 20, 25, 27],
  });
  assert.deepEqual([...parent.subarray(0, 2)], [0x1f, 0x8b]);
});

function disk(grace = 5): { d: TmpoDisk; out: PublishedBlock[] } {
  const out: PublishedBlock[] = [];
  const d = new TmpoDisk(
    () => ({ id: SID }),
    grace,
    (b) => out.push(b),
  );
  return { d, out };
}

test('level-8 blocks go out once their window is past plus the grace, and compact into level 12 and 16', () => {
  const { d, out } = disk(7);
  const sent: Array<[number, number]> = [];
  for (let ts = T0 + 10; ts < T0 + 20 * 4096; ts += 10) {
    if (d.push(SID, ts, ts - T0)) sent.push([ts, ts - T0]);
    d.tick(ts);
  }
  const first = out[0]!;
  assert.equal(first.lvl, 8);
  assert.equal(first.bid, T0);
  // flushed no earlier than close8 + grace
  assert.ok(out.filter((b) => b.lvl === 12).length >= 19);
  assert.equal(out.filter((b) => b.lvl === 16).length, 1);
  assert.equal(out.filter((b) => b.lvl === 16)[0]!.bid, T0);
  d.tick(T0 + 20 * 4096, true);
  // what is on disk holds every sample written, once
  const samples = new Map<number, number>();
  for (const f of d.files.values()) {
    const s = blk2series('gz', f.bytes);
    s.times.forEach((t, i) => {
      assert.ok(!samples.has(t), `sample ${t} twice on disk`);
      samples.set(t, s.values[i]!);
    });
  }
  assert.deepEqual(
    [...samples].sort((a, b) => a[0] - b[0]),
    sent,
  );
  assert.deepEqual(
    [...d.written.get(SID)!].sort((a, b) => a[0] - b[0]),
    sent,
  );
});

test("a sync entry makes tmpod send again every block whose tail bid + 2^lvl − 1 is past the entry's", () => {
  const { d, out } = disk();
  for (let ts = T0 + 10; ts < T0 + 3 * 4096 + 1000; ts += 30) {
    d.push(SID, ts, ts);
    d.tick(ts);
  }
  const onDisk = [...d.files.values()];
  assert.ok(onDisk.some((b) => b.lvl === 12) && onDisk.some((b) => b.lvl === 8));
  out.length = 0;
  const all = d.resync([{ sid: SID, rid: 0, lvl: 0, bid: 0 }]);
  assert.equal(all.length, onDisk.length, 'lvl 0 / bid 0: everything');
  assert.deepEqual(
    all.map((b) => b.lvl),
    [...all.map((b) => b.lvl)].sort((a, b) => b - a),
    'levels 20, 16, 12, 8',
  );
  const entry = { sid: SID, rid: 0, lvl: 12, bid: T0 + 4096 };
  const some = d.resync([entry]);
  const stail = entry.bid + 4096 - 1;
  assert.deepEqual(
    some.map((b) => `${b.lvl}/${b.bid}`),
    onDisk
      .filter((b) => b.bid + 2 ** b.lvl - 1 > stail)
      .sort((a, b) => b.lvl - a.lvl || a.bid - b.bid)
      .map((b) => `${b.lvl}/${b.bid}`),
  );
  assert.ok(some.length > 0 && some.length < all.length);
  assert.deepEqual(d.resync([{ sid: 'c'.repeat(32), rid: 0, lvl: 0, bid: 0 }]), [], 'another sensor: nothing');
});

test("a sample not after its block's tail, or for a window already on disk, is refused", () => {
  const { d } = disk();
  assert.equal(d.push(SID, T0 + 10, 1), true);
  assert.equal(d.push(SID, T0 + 10, 2), false);
  d.tick(T0 + 10);
  d.tick(T0 + 256 + 5);
  assert.equal(d.push(SID, T0 + 20, 3), false, 'window flushed');
  assert.equal(d.push(SID, T0 + 300, 3), true);
});
