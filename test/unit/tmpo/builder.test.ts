import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Block8Builder, Block8Pool } from '../../../core/tmpo/builder';
import { FlushClock, pickGraceSeconds } from '../../../core/tmpo/flush-clock';
import { decodeBlock, decodeSeries } from '../../../core/tmpo/codec';
import { CFG, SID_A, SID_B, T0 } from './support';

test('out-of-order and duplicate samples are counted and dropped; the block keeps the good ones', () => {
  const b = new Block8Builder(SID_A, 0, CFG);
  const outcomes = [
    b.push(T0 + 10, 100),
    b.push(T0 + 20, 101),
    b.push(T0 + 20, 999), // duplicate time
    b.push(T0 + 15, 999), // older than the tail
    b.push(T0 + 30, 102),
    b.push(T0 + 5, 999), // older than the head
  ];
  assert.deepEqual(outcomes, ['accepted', 'accepted', 'out-of-order', 'out-of-order', 'accepted', 'out-of-order']);
  assert.equal(b.counters.accepted, 3);
  assert.equal(b.counters['out-of-order'], 3);
  const [done] = b.takeBefore(T0 + 256);
  assert.ok(done);
  assert.deepEqual(done.key, { sid: SID_A, rid: 0, lvl: 8, bid: T0 });
  assert.equal(done.samples, 3);
  assert.deepEqual(decodeSeries(done.bytes), { times: [T0 + 10, T0 + 20, T0 + 30], values: [100, 101, 102] });
});

test('invalid samples are counted and never reach a block', () => {
  const b = new Block8Builder(SID_A, 0, CFG);
  assert.equal(b.push(T0 + 0.5, 1), 'invalid');
  assert.equal(b.push(-1, 1), 'invalid');
  assert.equal(b.push(T0, NaN), 'invalid');
  assert.equal(b.push(T0, Infinity), 'invalid');
  assert.equal(b.counters.invalid, 4);
  assert.equal(b.openBlocks, 0);
});

test('each sample goes to the block of its own timestamp, each block strictly increasing on its own', () => {
  const b = new Block8Builder(SID_A, 0, CFG);
  b.push(T0 + 250, 1);
  b.push(T0 + 260, 2); // next window
  assert.equal(b.push(T0 + 255, 3), 'accepted'); // still after the first block's tail
  const done = b.takeBefore(T0 + 512);
  assert.deepEqual(
    done.map((d) => d.key.bid),
    [T0, T0 + 256],
  );
  assert.deepEqual(decodeSeries(done[0]!.bytes).times, [T0 + 250, T0 + 255]);
  assert.equal(b.openBlocks, 0);
});

test('flush clock: nothing before the window end plus grace, then every block before the boundary', () => {
  const clock = new FlushClock(7);
  assert.equal(clock.tick(T0 + 100), undefined); // first call: close8 = T0 + 256
  assert.equal(clock.tick(T0 + 256), undefined);
  assert.equal(clock.tick(T0 + 256 + 6), undefined);
  assert.equal(clock.tick(T0 + 256 + 7), T0 + 256);
  assert.equal(clock.closedBefore, T0 + 256);
  assert.equal(clock.tick(T0 + 256 + 8), undefined); // close8 moved to T0 + 512
  assert.equal(clock.tick(T0 + 512 + 7), T0 + 512);
});

test('pool: a block is written after its window plus grace, including samples that arrived in the grace', () => {
  const pool = new Block8Pool({ graceSeconds: 7, cfgFor: () => CFG });
  pool.push(SID_A, 0, T0 + 10, 1);
  assert.deepEqual(pool.flush(T0 + 100), []);
  pool.push(SID_A, 0, T0 + 250, 2);
  assert.deepEqual(pool.flush(T0 + 256 + 3), []);
  pool.push(SID_A, 0, T0 + 255, 3); // stamped before the boundary, arrived in the grace
  pool.push(SID_A, 0, T0 + 258, 4); // the next window
  const done = pool.flush(T0 + 256 + 7);
  assert.equal(done.length, 1);
  assert.deepEqual(done[0]!.key, { sid: SID_A, rid: 0, lvl: 8, bid: T0 });
  assert.deepEqual(decodeSeries(done[0]!.bytes), { times: [T0 + 10, T0 + 250, T0 + 255], values: [1, 2, 3] });
  assert.equal(pool.openBlocks, 1);
  assert.equal(pool.closedBefore, T0 + 256);
});

test('pool: a sample for a window already written goes to the next free window; the written block is never rewritten', () => {
  const pool = new Block8Pool({ graceSeconds: 5, cfgFor: () => CFG });
  pool.push(SID_A, 0, T0 + 10, 1);
  pool.flush(T0 + 1);
  const first = pool.flush(T0 + 256 + 5);
  assert.deepEqual(
    first.map((d) => d.key.bid),
    [T0],
  );
  assert.equal(pool.push(SID_A, 0, T0 + 10, 1), 'out-of-order', 'already stored: never twice');
  assert.equal(pool.push(SID_A, 0, T0 + 200, 2), 'accepted', 'after the stored tail: kept');
  // a sensor seen for the first time after the flush has its own window free
  assert.equal(pool.push(SID_B, 0, T0 + 200, 2), 'accepted');
  const next = pool.flush(T0 + 512 + 5);
  assert.deepEqual(
    next.map((d) => [d.key.sid, d.key.bid]),
    [
      [SID_A, T0 + 256],
      [SID_B, T0],
    ],
  );
  assert.deepEqual(
    decodeSeries(next[0]!.bytes),
    { times: [T0 + 200], values: [2] },
    'a block that starts before its window',
  );
  assert.equal(pool.stats().find((s) => s.sid === SID_A)!.counters['out-of-order'], 1);
});

test('pool: a forced flush writes the current window too (tmpod `flush`)', () => {
  const pool = new Block8Pool({ graceSeconds: 10, cfgFor: () => CFG });
  pool.push(SID_A, 0, T0 + 10, 1);
  pool.push(SID_A, 1, T0 + 11, 1);
  const done = pool.flush(T0 + 20, { force: true });
  assert.deepEqual(
    done.map((d) => [d.key.rid, d.key.bid]),
    [
      [0, T0],
      [1, T0],
    ],
  );
  assert.equal(pool.openBlocks, 0);
});

test('the cfg is taken when a block opens; a changed cfg applies to later blocks only', () => {
  const pool = new Block8Pool({ graceSeconds: 4, cfgFor: (sid, rid) => ({ id: sid, rid, function: 'before' }) });
  pool.push(SID_A, 0, T0 + 1, 1);
  pool.updateCfg(SID_A, 0, { id: SID_A, rid: 0, function: 'after' });
  pool.push(SID_A, 0, T0 + 2, 2);
  pool.push(SID_A, 0, T0 + 300, 3);
  const done = pool.flush(T0 + 1000, { force: true });
  assert.deepEqual(
    done.map((d) => decodeBlock(d.bytes).h.cfg?.['function']),
    ['before', 'after'],
  );
});

test('a builder holds at most maxOpenBlocks blocks: a source ahead has its oldest written; after its clock is set back, readings go into the windows it left free', () => {
  const b = new Block8Builder(SID_A, 0, CFG, { maxOpenBlocks: 2 });
  assert.equal(b.push(T0 + 512, 1), 'accepted');
  assert.equal(b.push(T0 + 768, 2), 'accepted');
  assert.equal(b.push(T0 + 100 * 256, 3), 'accepted');
  assert.equal(b.openBlocks, 2);
  assert.deepEqual(
    b.takeDue(undefined).map((d) => d.key.bid),
    [T0 + 512],
    'written at once, whatever the host clock',
  );
  assert.equal(b.push(T0 + 512, 9), 'out-of-order', 'a stored reading is never stored twice');
  assert.equal(b.push(T0 + 10, 0), 'accepted', 'before every block: its own window is free');
  assert.deepEqual(
    b.takeDue(undefined).map((d) => d.key.bid),
    [T0 + 100 * 256],
    'the block furthest ahead made room',
  );
  assert.equal(b.push(T0 + 600, 9), 'accepted', 'after the written block of its window: put in front of the next one');
  const rest = b.takeDue(T0 + 200 * 256, true);
  assert.deepEqual(
    rest.map((d) => d.key.bid),
    [T0, T0 + 768],
  );
});

test('pool refuses bad sensor ids and rids without creating a builder', () => {
  const pool = new Block8Pool({ graceSeconds: 4, cfgFor: () => CFG });
  assert.equal(pool.push('../x', 0, T0, 1), 'invalid');
  assert.equal(pool.push(SID_A, -1, T0, 1), 'invalid');
  assert.equal(pool.stats().length, 0);
});

test('the grace is 4..19 s and the same for the same device and start time', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const g = pickGraceSeconds('0123456789abcdef0123456789abcdef', 1449999999 + i);
    assert.ok(g >= 4 && g <= 19, String(g));
    seen.add(g);
  }
  assert.ok(seen.size > 8);
  assert.equal(pickGraceSeconds('abc', 1), pickGraceSeconds('abc', 1));
  assert.throws(() => new FlushClock(256), RangeError);
});
