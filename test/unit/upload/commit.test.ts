import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../support/clock';
import { RECORD_BYTES, UploadQueue, type UploadQueueOptions } from '../../../core/upload/queue';
import type { Reading } from '../../../core/upload/reading';
import { SID_A, T0, series, withTempDir } from './support';

/** The commit pointer as the file holds it (written atomically, so never half of one). */
async function pointerOnDisk(
  dir: string,
  sid = SID_A,
): Promise<{ seg: number; offset: number; ts: number | null } | undefined> {
  const text = await fs.readFile(join(dir, sid, 'commit.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { seg: number; offset: number; ts: number | null });
}

/**
 * What the queue would send after a crash now: a copy of its folder, opened by a fresh queue
 * and read to the end. Only call it while no pointer write is under way (the copy is not
 * taken in one instant, as a crash is).
 */
async function afterCrash(dir: string, sid = SID_A): Promise<Reading[]> {
  const copy = `${dir}-crash`;
  await fs.rm(copy, { recursive: true, force: true });
  await fs.cp(dir, copy, { recursive: true });
  try {
    const q = await UploadQueue.open({ dir: copy });
    const out: Reading[] = [];
    for (let b, i = 0; i < 10_000 && (b = await q.peek(sid, 1000)); i++) {
      out.push(...b.readings);
      await q.ack(b);
    }
    await q.close();
    return out;
  } finally {
    await fs.rm(copy, { recursive: true, force: true });
  }
}

const settleIo = () => new Promise((r) => setImmediate(r));

async function withQueue(
  opts: Partial<UploadQueueOptions>,
  fn: (q: UploadQueue, dir: string, clock: ManualClock) => Promise<void>,
): Promise<void> {
  await withTempDir(async (root) => {
    const dir = join(root, 'q');
    const clock = new ManualClock(0);
    const q = await UploadQueue.open({ dir, clock, ...opts });
    try {
      await fn(q, dir, clock);
    } finally {
      await q.close();
    }
  });
}

test('deferred acknowledgements share one pointer write, commitIntervalMs after the first; a crash before it sends them again, skipping none', async () => {
  await withQueue({ commitIntervalMs: 1000, commitMaxRecords: 1_000_000 }, async (q, dir, clock) => {
    await q.appendMany(SID_A, series(T0, 100));
    const acks: Array<Promise<void>> = [];
    for (let i = 0; i < 5; i++) acks.push(q.ack((await q.peek(SID_A, 10))!, undefined, { defer: true }));
    assert.equal(q.depth(SID_A), 50, 'the pointer moved in memory at once');
    assert.deepEqual(
      (await q.peek(SID_A, 3))?.readings,
      series(T0, 100).slice(50, 53),
      'and reading goes on from there',
    );
    let settled = 0;
    for (const a of acks) void a.then(() => settled++);
    clock.advance(999);
    await settleIo();
    assert.equal(settled, 0, 'no write before the interval');
    assert.equal(await pointerOnDisk(dir), undefined);
    assert.deepEqual(await afterCrash(dir), series(T0, 100), 'a crash now: all of it again, nothing skipped');

    clock.advance(1);
    await Promise.all(acks);
    assert.equal(q.counters.commitWrites, 1, 'five acknowledgements, one write');
    assert.deepEqual(await pointerOnDisk(dir), { version: 1, seg: 0, offset: 50 * RECORD_BYTES, ts: T0 + 49 });
    assert.deepEqual(await afterCrash(dir), series(T0, 100).slice(50));
  });
});

test('an acknowledgement without defer is written at once, and takes the deferred ones before it along', async () => {
  await withQueue({ commitIntervalMs: 60_000 }, async (q, dir) => {
    await q.appendMany(SID_A, series(T0, 30));
    const deferred = q.ack((await q.peek(SID_A, 10))!, undefined, { defer: true });
    await q.ack((await q.peek(SID_A, 10))!);
    await deferred;
    assert.deepEqual(await pointerOnDisk(dir), { version: 1, seg: 0, offset: 20 * RECORD_BYTES, ts: T0 + 19 });
    assert.deepEqual(await afterCrash(dir), series(T0, 30).slice(20));
  });
});

test('commitMaxRecords: a write once that many wait, and peek holds the reader within 2 x (limit + batch) of the disk', async () => {
  const LIMIT = 50;
  const BATCH = 7;
  // The clock never moves: only the record limit writes the pointer.
  await withQueue({ commitIntervalMs: 1000, commitMaxRecords: LIMIT }, async (q, dir) => {
    const all = series(T0, 2000);
    await q.appendMany(SID_A, all);
    let acked = 0;
    let worst = 0;
    const pending: Array<Promise<void>> = [];
    for (let b, i = 0; i < 1000 && (b = await q.peek(SID_A, BATCH)); i++) {
      const onDisk = ((await pointerOnDisk(dir))?.offset ?? 0) / RECORD_BYTES;
      worst = Math.max(worst, acked - onDisk);
      assert.ok(acked - onDisk <= 2 * (LIMIT + BATCH), `${acked - onDisk} acknowledged readings not on disk`);
      pending.push(q.ack(b, undefined, { defer: true }));
      acked += b.readings.length;
    }
    assert.equal(acked, all.length);
    assert.ok(worst > LIMIT, `the pointer was written behind the reader (at most ${worst} behind)`);
    assert.ok(
      q.counters.commitWrites <= Math.ceil(all.length / LIMIT) + 1,
      `${q.counters.commitWrites} writes for ${all.length / BATCH} batches`,
    );
    await q.commit(SID_A);
    await Promise.all(pending);
    assert.deepEqual(await afterCrash(dir), [], 'committed: nothing sent again');
  });
});

test('close() writes the deferred acknowledgements', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 'q');
    const q = await UploadQueue.open({ dir, clock: new ManualClock(0) });
    await q.appendMany(SID_A, series(T0, 20));
    const ack = q.ack((await q.peek(SID_A, 15))!, undefined, { defer: true });
    await q.close();
    await ack;
    assert.deepEqual(await afterCrash(dir), series(T0, 20).slice(15));
  });
});

test('a pointer write that fails: its acknowledgements reject, peek stops at the limit, nothing is lost; then the queue goes on', async () => {
  await withQueue({ commitIntervalMs: 1000, commitMaxRecords: 20 }, async (q, dir) => {
    await q.appendMany(SID_A, series(T0, 100));
    await q.ack((await q.peek(SID_A, 5))!);
    // A folder with something in it where the pointer goes: the rename over it fails, even for root.
    const blocker = join(dir, SID_A, 'commit.json');
    await fs.rm(blocker);
    await fs.mkdir(join(blocker, 'in-the-way'), { recursive: true });
    const a1 = q.ack((await q.peek(SID_A, 10))!, undefined, { defer: true });
    const a2 = q.ack((await q.peek(SID_A, 10))!, undefined, { defer: true });
    await assert.rejects(a1);
    await assert.rejects(a2);
    assert.equal(q.depth(SID_A), 75, 'in memory the pointer moved');
    await assert.rejects(q.peek(SID_A, 10), 'the reader stops: too much waits for a pointer the disk refuses');
    await assert.rejects(q.commit(SID_A));

    await fs.rm(blocker, { recursive: true });
    assert.deepEqual(
      (await q.peek(SID_A, 10))?.readings,
      series(T0, 100).slice(25, 35),
      'the disk takes it again: reading goes on where it was',
    );
    assert.deepEqual(await pointerOnDisk(dir), { version: 1, seg: 0, offset: 25 * RECORD_BYTES, ts: T0 + 24 });
    assert.deepEqual(await afterCrash(dir), series(T0, 100).slice(25));
  });
});

test('a crash during a pointer write (temp file left, never renamed) keeps the pointer before it', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 'q');
    const q = await UploadQueue.open({ dir });
    await q.appendMany(SID_A, series(T0, 30));
    await q.ack((await q.peek(SID_A, 10))!);
    await q.close();
    const sensorDir = join(dir, SID_A);
    await fs.writeFile(
      join(sensorDir, '.commit.json.0badf00d.tmp'),
      JSON.stringify({ version: 1, seg: 0, offset: 25 * RECORD_BYTES, ts: T0 + 24 }).slice(0, 17),
    );
    const q2 = await UploadQueue.open({ dir });
    assert.deepEqual((await q2.peek(SID_A, 100))?.readings, series(T0, 30).slice(10));
    assert.ok(!(await fs.readdir(sensorDir)).some((n) => n.endsWith('.tmp')), 'the torn temp file is removed');
    await q2.close();
  });
});

test('a crash after the pointer went past a segment, before the segment was deleted: deleted on open, not sent again', async () => {
  await withTempDir(async (root) => {
    const dir = join(root, 'q');
    const sensorDir = join(dir, SID_A);
    const q = await UploadQueue.open({ dir, segmentBytes: 10 * RECORD_BYTES });
    await q.appendMany(SID_A, series(T0, 10));
    await q.appendMany(SID_A, series(T0 + 10, 10, 1, 2000));
    const segs = (await fs.readdir(sensorDir)).filter((n) => n.endsWith('.seg')).sort();
    assert.equal(segs.length, 2);
    const first = await fs.readFile(join(sensorDir, segs[0]!));
    await q.ack((await q.peek(SID_A, 100))!);
    await q.close();
    assert.deepEqual(
      (await fs.readdir(sensorDir)).filter((n) => n.endsWith('.seg')),
      [segs[1]],
      'gone behind the pointer',
    );
    await fs.writeFile(join(sensorDir, segs[0]!), first); // as if the delete never happened
    const q2 = await UploadQueue.open({ dir, segmentBytes: 10 * RECORD_BYTES });
    assert.deepEqual((await q2.peek(SID_A, 100))?.readings, series(T0 + 10, 10, 1, 2000));
    assert.ok(!(await fs.readdir(sensorDir)).includes(segs[0]!));
    await q2.close();
  });
});
