import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { TmpoRecorder } from '../../../core/tmpo/recorder';
import { journalPath } from '../../../core/tmpo/open-journal';
import { planResend } from '../../../core/tmpo/sync-plan';
import { decodeBlock, decodeSeries } from '../../../core/tmpo/codec';
import { keyText, type BlockKey } from '../../../core/tmpo/ids';
import { SID_A, SID_B, CFG, T0, withTempDir } from './support';

function recorderAt(dir: string, clock: { now: number }, blocks: Array<[BlockKey, Buffer]>, warnings: string[] = []) {
  return TmpoRecorder.open({
    dataDir: dir,
    deviceId: '0123456789abcdef0123456789abcdef',
    cfgFor: (sid) => ({ ...CFG, id: sid }),
    now: () => clock.now,
    onBlock: (k, b) => blocks.push([k, b]),
    onWarning: (w) => warnings.push(w),
  });
}

test('readings become a level-8 block once its window and the grace have passed', async () => {
  await withTempDir(async (dir) => {
    const clock = { now: T0 };
    const blocks: Array<[BlockKey, Buffer]> = [];
    const rec = await recorderAt(dir, clock, blocks);
    await rec.tick();
    for (let i = 0; i < 256; i++) assert.equal(rec.push(SID_A, 0, T0 + i, 1000 + i), 'accepted');
    clock.now = T0 + 256;
    await rec.tick();
    assert.equal(blocks.length, 0, 'not before the grace');
    clock.now = T0 + 256 + 20;
    await rec.tick();
    assert.deepEqual(
      blocks.map(([k]) => keyText(k)),
      [`${SID_A}/0/8/${T0}`],
    );
    const series = decodeSeries(blocks[0]![1]);
    assert.equal(series.times.length, 256);
    assert.equal(series.values.at(-1), 1255);
    assert.deepEqual(await rec.store.read(blocks[0]![0]), blocks[0]![1], 'published bytes are the file on disk');
    assert.equal(rec.push(SID_A, 0, T0 + 10, 5), 'out-of-order', 'a stored reading is never stored twice');
    assert.equal(rec.push(SID_A, 0, T0 + 300, 5), 'accepted');
    await rec.tick({ force: true });
    assert.deepEqual(
      blocks.map(([k]) => k.bid),
      [T0, T0 + 256],
      'a written window is never rewritten',
    );
    await rec.close();
  });
});

test('open blocks survive a restart through the journal and go on filling', async () => {
  await withTempDir(async (dir) => {
    const clock = { now: T0 + 5 };
    const blocks: Array<[BlockKey, Buffer]> = [];
    const a = await recorderAt(dir, clock, blocks);
    for (let i = 0; i < 100; i++) a.push(SID_A, 0, T0 + i, i * 1.5);
    await a.close();
    assert.ok(existsSync(journalPath(dir)));
    const b = await recorderAt(dir, clock, blocks);
    for (let i = 100; i < 200; i++) assert.equal(b.push(SID_A, 0, T0 + i, i * 1.5), 'accepted');
    clock.now = T0 + 300;
    await b.tick({ force: true });
    const s = decodeSeries(blocks[0]![1]);
    assert.equal(s.times.length, 200);
    assert.deepEqual(
      s.times,
      Array.from({ length: 200 }, (_, i) => T0 + i),
    );
    assert.ok(s.values.every((v, i) => Math.abs(v - i * 1.5) < 1e-6));
    await b.close();
  });
});

test('a kill -9 before the first checkpoint after a restart loses nothing, and a block written before the kill is not doubled', async () => {
  await withTempDir(async (dir) => {
    const clock = { now: T0 + 5 };
    const blocks: Array<[BlockKey, Buffer]> = [];
    const a = await recorderAt(dir, clock, blocks);
    for (let i = 0; i < 100; i++) a.push(SID_A, 0, T0 + i, i);
    await a.close();
    // b takes the journal over, then dies without a stop or a checkpoint: c must find the samples
    const b = await recorderAt(dir, clock, blocks);
    b.push(SID_A, 0, T0 + 100, 100);
    const c = await recorderAt(dir, clock, blocks);
    assert.ok(existsSync(journalPath(dir)), 'the journal stays until it is replaced');
    clock.now = T0 + 300;
    await c.tick({ force: true });
    assert.equal(blocks.length, 1);
    const s = decodeSeries(blocks[0]![1]);
    assert.deepEqual(
      s.times,
      Array.from({ length: 100 }, (_, i) => T0 + i),
      'the journalled samples, once each (the reading b took after its start died with it)',
    );
    // c wrote the block and dies before a checkpoint: the stale journal lists it, d must not write it again
    const warnings: string[] = [];
    const d = await recorderAt(dir, clock, blocks, warnings);
    clock.now = T0 + 600;
    await d.tick({ force: true });
    assert.equal(blocks.length, 1, 'no second block from the stale journal');
    assert.deepEqual(warnings, []);
    assert.equal(d.stats()[0]!.counters['out-of-order'], 0, 'repeats of stored samples are not counted as refused');
    await d.close();
    assert.equal(existsSync(journalPath(dir)), false, 'a stop with no open block leaves no journal');
    await b.close();
    await c.close();
  });
});

test('a damaged journal is moved aside with a warning', async () => {
  await withTempDir(async (dir) => {
    const clock = { now: T0 };
    const warnings: string[] = [];
    await (await recorderAt(dir, clock, [])).checkpoint();
    await writeFile(journalPath(dir), '{"version":1,"blocks":[{"sid":"x","rid":0,"text":"nope"}]}');
    const rec = await recorderAt(dir, clock, [], warnings);
    assert.match(warnings.join('\n'), /were unreadable .* moved to .*open\.json\.damaged-\d+/);
    await rec.close();
  });
});

test('blocks are compacted into level 12 once the parent window and the late-readings horizon have passed, and the parent is published', async () => {
  await withTempDir(async (dir) => {
    const clock = { now: T0 };
    const blocks: Array<[BlockKey, Buffer]> = [];
    const rec = await recorderAt(dir, clock, blocks);
    await rec.tick();
    // 16 level-8 windows = one level-12 window, one sample a minute
    for (let t = T0; t < T0 + 4096; t += 60) {
      rec.push(SID_A, 0, t, t - T0);
      clock.now = t + 30;
      await rec.tick();
    }
    clock.now = T0 + 4096 + 30;
    await rec.tick();
    await rec.idle();
    assert.ok(!blocks.some(([k]) => k.lvl === 12), 'not while a late reading may still go into its own window');
    clock.now = T0 + 4096 + rec.horizonSeconds + 256;
    await rec.tick();
    clock.now += 256 + 30;
    await rec.tick();
    await rec.idle();
    await rec.close();
    const parent = blocks.find(([k]) => k.lvl === 12);
    assert.ok(parent, `a level-12 block was published (got ${blocks.map(([k]) => k.lvl).join(',')})`);
    assert.equal(parent[0].bid, T0);
    const s = decodeSeries(parent[1]);
    assert.equal(s.times.length, Math.ceil(4096 / 60));
    assert.deepEqual(await rec.store.list({ sid: SID_A, lvl: 8 }), [], 'children removed');
  });
});

test('sync plan: re-send what the other side lacks, levels 20 to 8, everything on lvl 0', () => {
  const k = (sid: string, rid: number, lvl: 8 | 12 | 16 | 20, bid: number): BlockKey => ({ sid, rid, lvl, bid });
  const blocks = [
    k(SID_A, 0, 8, T0),
    k(SID_A, 0, 8, T0 + 256),
    k(SID_A, 0, 12, T0 - 4096),
    k(SID_A, 1, 8, T0),
    k(SID_B, 0, 8, T0),
  ];
  const plan = planResend([{ sid: SID_A, rid: 0, lvl: 8, bid: T0 }], blocks);
  // as tmpod: the tail rule applies to every rid >= the entry's, so rid 1's block at T0 is not newer
  assert.deepEqual(plan.map(keyText), [`${SID_A}/0/8/${T0 + 256}`]);
  const all = planResend([{ sid: SID_B, rid: 0, lvl: 0, bid: 0 }], blocks);
  assert.deepEqual(all.map(keyText), [`${SID_B}/0/8/${T0}`]);
  const levels = planResend([{ sid: SID_A, rid: 0, lvl: 0, bid: 0 }], blocks);
  assert.deepEqual(
    levels.map((x) => `${x.rid}/${x.lvl}`),
    ['0/12', '0/8', '0/8', '1/8'],
  );
});

test('journal blocks of a sensor no longer configured are written with their own cfg; an entry naming no valid sensor is set aside, never dropped', async () => {
  await withTempDir(async (dir) => {
    const clock = { now: T0 + 5 };
    const first = await recorderAt(dir, clock, []);
    for (let i = 0; i < 5; i++) {
      first.push(SID_A, 0, T0 + i, i);
      first.push(SID_B, 0, T0 + i, 10 + i);
    }
    await first.close();
    const journal = JSON.parse(await readFile(journalPath(dir), 'utf8'));
    journal.blocks.push({ ...journal.blocks[0], sid: '../x' });
    await writeFile(journalPath(dir), JSON.stringify(journal));

    const blocks: Array<[BlockKey, Buffer]> = [];
    const warnings: string[] = [];
    const rec = await TmpoRecorder.open({
      dataDir: dir,
      deviceId: '0123456789abcdef0123456789abcdef',
      // only SID_A is still a sensor
      cfgFor: (sid) => {
        if (sid !== SID_A) throw new Error(`sensor ${sid} is not enabled`);
        return { ...CFG, id: sid, function: 'now' };
      },
      now: () => clock.now,
      onBlock: (k, b) => blocks.push([k, b]),
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(rec.push(SID_A, 0, T0 + 9, 9), 'accepted');
    await rec.tick({ force: true });
    assert.deepEqual(blocks.map(([k]) => keyText(k)).sort(), [`${SID_A}/0/8/${T0}`, `${SID_B}/0/8/${T0}`].sort());
    const b = decodeBlock(blocks.find(([k]) => k.sid === SID_B)![1]);
    assert.equal(b.h.cfg?.['id'], SID_B, 'the cfg it was opened with');
    assert.deepEqual(decodeSeries(blocks.find(([k]) => k.sid === SID_A)![1]).values, [0, 1, 2, 3, 4, 9]);
    const w = warnings.find((x) => /name no valid sensor/.test(x));
    assert.ok(w, warnings.join('\n'));
    const aside = /kept in (\S+)$/.exec(w)![1]!;
    assert.equal(JSON.parse(await readFile(aside, 'utf8')).blocks[0].sid, '../x');
    await rec.close();
  });
});
