import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { RECORD_BYTES, UploadQueue, type Batch } from '../../../core/upload/queue';
import type { Reading } from '../../../core/upload/reading';
import { SID_A, SID_B, T0, series, withTempDir } from './support';

async function drainAll(q: UploadQueue, sid: string, max = 1000): Promise<Reading[]> {
  const out: Reading[] = [];
  for (let i = 0; i < 100_000; i++) {
    const b = await q.peek(sid, max);
    if (!b) break;
    out.push(...b.readings);
    await q.ack(b);
  }
  return out;
}

async function segments(dir: string, sid: string): Promise<string[]> {
  return (await fs.readdir(join(dir, sid))).filter((n) => n.endsWith('.seg')).sort();
}

test('appended readings survive a reopen, in order, per sensor', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir });
    for (const r of series(T0, 50)) assert.equal(await q.append(SID_A, r), 'queued');
    await q.appendMany(SID_B, series(T0, 20, 5, 7));
    assert.equal(q.depth(SID_A), 50);
    // No close: as after a kill, only what append() resolved for is relied on.
    const q2 = await UploadQueue.open({ dir });
    assert.deepEqual(q2.sids().sort(), [SID_A, SID_B]);
    assert.equal(q2.depth(SID_A), 50);
    assert.equal(q2.lastTs(SID_A), T0 + 49);
    assert.deepEqual(await drainAll(q2, SID_A, 7), series(T0, 50));
    assert.deepEqual(await drainAll(q2, SID_B), series(T0, 20, 5, 7));
    await q.close();
    await q2.close();
  });
});

test('only the acknowledged part leaves; a batch not acknowledged comes again, also after a restart', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir });
    await q.appendMany(SID_A, series(T0, 10));
    const b1 = await q.peek(SID_A, 4);
    assert.deepEqual(b1?.readings, series(T0, 4));
    assert.deepEqual((await q.peek(SID_A, 4))?.readings, series(T0, 4), 'peek alone moves nothing');
    await q.ack(b1!, 3);
    assert.equal(q.depth(SID_A), 7);
    await assert.rejects(q.ack(b1!), /already acknowledged/);
    const b2 = await q.peek(SID_A, 100);
    assert.deepEqual(b2?.readings, series(T0, 10).slice(3));
    await q.close();

    const q2 = await UploadQueue.open({ dir });
    assert.deepEqual(
      (await q2.peek(SID_A, 100))?.readings,
      series(T0, 10).slice(3),
      'unacknowledged: sent again after a restart',
    );
    await q2.ack((await q2.peek(SID_A, 100))!);
    assert.equal(q2.depth(SID_A), 0);
    assert.equal(await q2.peek(SID_A, 100), undefined);
    await q2.close();

    const q3 = await UploadQueue.open({ dir });
    assert.equal(await q3.peek(SID_A, 100), undefined, 'acknowledged: never read again');
    assert.equal(await q3.append(SID_A, [T0 + 9, 1]), 'not-after-last', 'the sensor still knows its newest timestamp');
    assert.equal(await q3.append(SID_A, [T0 + 10, 1]), 'queued');
    assert.deepEqual(await drainAll(q3, SID_A), [[T0 + 10, 1]]);
    await q3.close();
  });
});

test('readings that cannot be uploaded are refused at once and never stored', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir });
    assert.equal(await q.append(SID_A, [T0, 1.5]), 'fractional');
    assert.equal(await q.append(SID_A, [1234567890, 1]), 'invalid-time');
    assert.equal(await q.append(SID_A, [T0 + 0.5, 1]), 'invalid-time');
    assert.equal(await q.append(SID_A, [T0, Number.NaN]), 'invalid-counter');
    assert.equal(await q.append(SID_A, [T0, 2 ** 60]), 'invalid-counter');
    assert.equal(await q.append('../etc', [T0, 1]), 'invalid-sid');
    assert.equal(await q.append(SID_A, [T0, -5]), 'queued', 'a net counter may be negative');
    assert.equal(await q.append(SID_A, [T0, 6]), 'not-after-last');
    const many = await q.appendMany(SID_A, [
      [T0 + 1, 1],
      [T0 + 1, 2],
      [T0 + 2, 2.25],
      [T0 + 3, 3],
    ]);
    assert.deepEqual(many, { queued: 2, skipped: { 'not-after-last': 1, fractional: 1 } });
    assert.deepEqual(await drainAll(q, SID_A), [
      [T0, -5],
      [T0 + 1, 1],
      [T0 + 3, 3],
    ]);
    await q.close();
  });
});

test('a torn record at the end of a segment is ignored, and the queue goes on in a new segment', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir });
    await q.appendMany(SID_A, series(T0, 10));
    await q.close();
    const [seg] = await segments(dir, SID_A);
    // Half a record, as a kill in the middle of a write leaves it.
    const half = Buffer.alloc(RECORD_BYTES);
    half.writeDoubleLE(T0 + 10, 0);
    await fs.appendFile(join(dir, SID_A, seg!), half.subarray(0, 13));
    const warnings: string[] = [];
    const q2 = await UploadQueue.open({ dir, onWarning: (w) => warnings.push(w) });
    assert.match(warnings.join('\n'), /13 bytes of a torn record/);
    assert.equal(q2.lastTs(SID_A), T0 + 9);
    assert.equal(await q2.append(SID_A, [T0 + 10, 1010]), 'queued');
    assert.equal((await segments(dir, SID_A)).length, 2, 'a new segment, never the torn one continued');
    assert.deepEqual(await drainAll(q2, SID_A), series(T0, 11));
    await q2.close();
  });
});

test('damaged whole records (zeros, flipped bits) are skipped with a warning, never fatal', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir });
    await q.appendMany(SID_A, series(T0, 10));
    await q.close();
    const path = join(dir, SID_A, (await segments(dir, SID_A))[0]!);
    const bytes = await fs.readFile(path);
    bytes.fill(0, 3 * RECORD_BYTES, 4 * RECORD_BYTES); // record 3 zeroed, as after a power cut
    bytes[6 * RECORD_BYTES + 9] = bytes[6 * RECORD_BYTES + 9]! ^ 0x10; // record 6: one bit flipped
    await fs.writeFile(path, Buffer.concat([bytes, Buffer.alloc(2 * RECORD_BYTES)])); // and a zero-filled tail
    const warnings: string[] = [];
    const q2 = await UploadQueue.open({ dir, onWarning: (w) => warnings.push(w) });
    assert.equal(q2.lastTs(SID_A), T0 + 9, 'the zero tail is not a record');
    const want = series(T0, 10).filter((_, i) => i !== 3 && i !== 6);
    assert.deepEqual(await drainAll(q2, SID_A), want);
    assert.equal(q2.counters.skippedRecords, 4);
    assert.match(warnings.join('\n'), /damaged or out-of-order record/);
    assert.equal(q2.depth(SID_A), 0);
    await q2.close();
  });
});

test('group commit: many concurrent appends share few fsyncs', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir });
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 2000; i++) all.push(q.append(i % 2 ? SID_A : SID_B, [T0 + i, i]));
    const results = await Promise.all(all);
    assert.ok(results.every((r) => r === 'queued'));
    assert.ok(q.counters.fsyncs <= 20, `${q.counters.fsyncs} fsyncs for 2000 appends`);
    assert.equal(q.depth(SID_A) + q.depth(SID_B), 2000);
    await q.close();
  });
});

test('fully acknowledged segments are deleted; the pointer survives a restart', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir, segmentBytes: 10 * RECORD_BYTES });
    for (let i = 0; i < 10; i++) await q.appendMany(SID_A, series(T0 + i * 10, 10, 1, i * 10));
    assert.equal((await segments(dir, SID_A)).length, 10);
    // Acknowledge 35: three segments are wholly behind the pointer.
    let left = 35;
    for (let i = 0; i < 100 && left > 0; i++) {
      const b = (await q.peek(SID_A, Math.min(left, 8)))!;
      await q.ack(b);
      left -= b.readings.length;
    }
    assert.equal((await segments(dir, SID_A)).length, 7);
    assert.equal(q.depth(SID_A), 65);
    await q.close();
    const q2 = await UploadQueue.open({ dir, segmentBytes: 10 * RECORD_BYTES });
    assert.equal(q2.depth(SID_A), 65);
    const rest = await drainAll(q2, SID_A);
    assert.deepEqual(rest[0], [T0 + 35, 35]);
    assert.equal(rest.length, 65);
    assert.deepEqual(await segments(dir, SID_A), [], 'all sealed segments acknowledged and gone');
    assert.equal(await q2.append(SID_A, [T0 + 100, 100]), 'queued');
    assert.equal(q2.depth(SID_A), 1);
    await q2.close();
  });
});

test('a damaged commit pointer is moved aside and the readings are sent again rather than lost', async () => {
  await withTempDir(async (dir) => {
    const q = await UploadQueue.open({ dir });
    await q.appendMany(SID_A, series(T0, 5));
    const b = (await q.peek(SID_A, 2))!;
    await q.ack(b);
    await q.close();
    await fs.writeFile(join(dir, SID_A, 'commit.json'), '{"version":1,"seg":');
    const warnings: string[] = [];
    const q2 = await UploadQueue.open({ dir, onWarning: (w) => warnings.push(w) });
    assert.match(warnings.join('\n'), /commit pointer unreadable/);
    assert.deepEqual(await drainAll(q2, SID_A), series(T0, 5));
    assert.ok((await fs.readdir(join(dir, SID_A))).some((n) => n.startsWith('commit.json.damaged-')));
    await q2.close();
  });
});

test('memory stays flat while a large backlog drains in bounded batches', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  await withTempDir(async (dir) => {
    const N = 600_000;
    const q = await UploadQueue.open({ dir });
    for (let i = 0; i < N; i += 100_000) await q.appendMany(SID_A, series(T0 + i, 100_000, 1, i));
    await q.close();
    gc();
    const q2 = await UploadQueue.open({ dir });
    assert.equal(q2.depth(SID_A), N);
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = 0;
    let count = 0;
    let expectTs = T0;
    let batch: Batch | undefined;
    for (let i = 0; i < 10_000 && (batch = await q2.peek(SID_A, 5000)); i++) {
      assert.ok(batch.readings.length <= 5000);
      assert.equal(batch.readings[0]![0], expectTs);
      expectTs += batch.readings.length;
      count += batch.readings.length;
      await q2.ack(batch);
      if (i % 20 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - before);
      }
    }
    assert.equal(count, N);
    // The whole backlog as arrays would take tens of MB; one batch is a fraction of one.
    assert.ok(peak < 8 * 1024 * 1024, `heap grew by ${(peak / 1048576).toFixed(1)} MB while draining ${N} readings`);
    await q2.close();
  });
});
