import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { MysqlSpool, SPOOL_RECORD_BYTES, type ReadingRow } from '../../../core/sinks/mysql';
import { tempDir } from '../../support/nodered';

const SID_A = 'a'.repeat(32);
const SID_B = '0123456789abcdef0123456789abcdef';
const T0 = 1_750_000_000;

function rows(n: number, from = 0, sid = SID_A): ReadingRow[] {
  return Array.from({ length: n }, (_, i) => ({
    sid,
    kind: (from + i) % 2 ? 'counter' : 'gauge',
    ts: T0 + from + i,
    value: (from + i) * 1.25 - 3,
  }));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const d = await tempDir('flm-spool-');
  try {
    await fn(join(d.path, 'spool'));
  } finally {
    await d.remove();
  }
}

async function drain(s: MysqlSpool, max = 1000): Promise<ReadingRow[]> {
  const out: ReadingRow[] = [];
  for (let i = 0; i < 100_000; i++) {
    const b = await s.peek(max);
    if (!b) break;
    out.push(...b.rows);
    await s.ack(b);
  }
  return out;
}

const files = async (dir: string) => (await fs.readdir(dir)).filter((f) => f.endsWith('.spool')).sort();

test('rows come back in the order they were appended, exactly as written, across sensors and kinds', async () => {
  await withDir(async (dir) => {
    const s = await MysqlSpool.open({ dir });
    const all = [...rows(30), ...rows(10, 0, SID_B), ...rows(25, 30)];
    await s.append(all.slice(0, 30));
    await s.append(all.slice(30, 40));
    await s.append(all.slice(40));
    assert.equal(s.depth(), 65);
    assert.deepEqual(await drain(s, 7), all);
    assert.equal(s.depth(), 0);
    assert.ok(s.empty);
    assert.deepEqual(await files(dir), [], 'a drained spool leaves no file');
    await s.close();
  });
});

test('what append() resolved for survives a reopen (no close, as after a kill); reading starts over at the oldest segment', async () => {
  await withDir(async (dir) => {
    const s = await MysqlSpool.open({ dir, segmentBytes: 10 * SPOOL_RECORD_BYTES });
    for (let i = 0; i < 5; i++) await s.append(rows(8, i * 8));
    // Read part of it: the read position is not kept, so a reopen replays it (the table's key makes that harmless).
    const b = await s.peek(4);
    await s.ack(b!);
    const again = await MysqlSpool.open({ dir });
    const got = await drain(again);
    assert.ok(got.length >= 40 - 10 && got.length <= 40, `replays at most a segment: got ${got.length}`);
    assert.deepEqual(got, rows(40).slice(40 - got.length));
    await again.close();
    await s.close();
  });
});

test('appends made while a write is under way share one fsync (group commit), and keep their order', async () => {
  await withDir(async (dir) => {
    const s = await MysqlSpool.open({ dir });
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.append(rows(2, i * 2))));
    assert.ok(s.counters.fsyncs < 50, `${s.counters.fsyncs} fsyncs for 50 appends`);
    assert.deepEqual(await drain(s), rows(100));
    await s.close();
  });
});

test('a torn record at the end and a damaged record in the middle are skipped and reported; the rest comes back', async () => {
  await withDir(async (dir) => {
    const s = await MysqlSpool.open({ dir });
    await s.append(rows(10));
    await s.close();
    const [file] = await files(dir);
    const path = join(dir, file!);
    const buf = await fs.readFile(path);
    buf[3 * SPOOL_RECORD_BYTES + 20]! ^= 0xff; // the 4th record's value
    await fs.writeFile(path, Buffer.concat([buf, buf.subarray(0, 17)])); // and half a record after the end
    const warnings: string[] = [];
    const again = await MysqlSpool.open({ dir, onWarning: (w) => warnings.push(w) });
    assert.equal(again.depth(), 10);
    const want = rows(10);
    want.splice(3, 1);
    assert.deepEqual(await drain(again), want);
    assert.equal(again.counters.skipped, 1);
    assert.ok(
      warnings.some((w) => /17 bytes of a torn record/.test(w)),
      warnings.join('\n'),
    );
    assert.ok(
      warnings.some((w) => /1 damaged record/.test(w)),
      warnings.join('\n'),
    );
    await again.close();
  });
});

test('a zero-filled tail (a power cut after the size grew) is skipped, not read as readings', async () => {
  await withDir(async (dir) => {
    const s = await MysqlSpool.open({ dir });
    await s.append(rows(3));
    await s.close();
    const [file] = await files(dir);
    await fs.appendFile(join(dir, file!), Buffer.alloc(4 * SPOOL_RECORD_BYTES));
    const again = await MysqlSpool.open({ dir });
    assert.deepEqual(await drain(again), rows(3));
    assert.equal(again.counters.skipped, 4);
    await again.close();
  });
});

test('segments roll at their size, are deleted once read, and new appends after a reopen go to a new segment', async () => {
  await withDir(async (dir) => {
    const s = await MysqlSpool.open({ dir, segmentBytes: 5 * SPOOL_RECORD_BYTES });
    for (let i = 0; i < 4; i++) await s.append(rows(5, i * 5));
    assert.equal((await files(dir)).length, 4);
    const b = await s.peek(5);
    await s.ack(b!);
    assert.equal((await files(dir)).length, 3, 'the first segment, read to its end, is gone');
    await s.close();
    const again = await MysqlSpool.open({ dir, segmentBytes: 5 * SPOOL_RECORD_BYTES });
    await again.append(rows(2, 100));
    const names = await files(dir);
    assert.equal(names.length, 4);
    assert.deepEqual(await drain(again, 3), [...rows(15, 5), ...rows(2, 100)]);
    assert.deepEqual(await files(dir), []);
    await again.close();
  });
});

test('appends while the spool is drained land after what is there, and an empty segment left by a crash is removed', async () => {
  await withDir(async (dir) => {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(join(dir, '0000000000000007.spool'), '');
    const s = await MysqlSpool.open({ dir });
    assert.deepEqual(await files(dir), []);
    assert.ok(s.empty);
    await s.append(rows(4));
    const b = await s.peek(2);
    const pending = s.append(rows(3, 50));
    assert.equal(s.pending, 3);
    await s.ack(b!);
    await pending;
    assert.deepEqual(await drain(s), [...rows(4).slice(2), ...rows(3, 50)]);
    assert.ok(s.empty);
    await s.close();
    await assert.rejects(s.append(rows(1)), /closed/);
  });
});
