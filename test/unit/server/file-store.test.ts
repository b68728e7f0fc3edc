import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { FileReadingStore } from '../../../core/server/store/file-store';
import { decodeSeries } from '../../../core/tmpo/codec';
import { withTempDir } from '../../support/temp-dir';

const T0 = 1_700_000_000;

async function samples(store: FileReadingStore, sid: string, from = 0, to = 2 ** 40): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = [];
  await store.forEachSample(sid, 0, from, to, (t, v) => out.push([t, v]));
  return out;
}

test('the same (sid, ts) twice is one reading, from any path, before and after a checkpoint', async () => {
  await withTempDir(async (dir) => {
    const store = await FileReadingStore.open({ dir, now: () => T0 + 100_000 });
    await store.addReadings('ab', 0, { times: [T0, T0 + 10, T0 + 20], values: [1, 2, 3] });
    await store.addReadings('ab', 0, { times: [T0 + 10, T0 + 30], values: [99, 4] });
    assert.deepEqual(await samples(store, 'ab'), [
      [T0, 1],
      [T0 + 10, 2],
      [T0 + 20, 3],
      [T0 + 30, 4],
    ]);
    await store.flush();
    await store.addReadings(
      'ab',
      0,
      { times: [T0, T0 + 40], values: [77, 5] },
      { lvl: 8, bid: 1_700_000_000 - (T0 % 256) },
    );
    await store.flush();
    assert.deepEqual(await samples(store, 'ab'), [
      [T0, 1],
      [T0 + 10, 2],
      [T0 + 20, 3],
      [T0 + 30, 4],
      [T0 + 40, 5],
    ]);
    const s = store.stats();
    assert.equal(s.received, 7);
    assert.equal(s.stored, 5);
    assert.equal(s.duplicates, 2);
    assert.deepEqual(await store.lastBlock('ab'), { sid: 'ab', rid: 0, lvl: 8, bid: T0 - (T0 % 256) });
    await store.close();
  });
});

test('data days late lands in the compacted block of its window; compaction goes up to level 20', async () => {
  await withTempDir(async (dir) => {
    let now = T0;
    const store = await FileReadingStore.open({ dir, now: () => now, compactMs: 0 });
    // Two days of one reading a minute.
    const times = Array.from({ length: 2 * 1440 }, (_, i) => T0 + i * 60);
    await store.addReadings('cd', 0, { times, values: times.map((_, i) => i * 10) });
    now = T0 + 40 * 86400;
    await store.flush();
    const keys = await store.list({ sid: 'cd' });
    assert.ok(keys.length > 0);
    assert.ok(
      keys.every((k) => k.lvl === 20 || k.lvl === 16),
      JSON.stringify(keys),
    );
    // A reading 30 s after each of the first ten, weeks late.
    const late = times.slice(0, 10).map((t) => t + 30);
    await store.addReadings('cd', 0, { times: late, values: late.map((_, i) => i * 10 + 5) });
    await store.flush();
    const all = await samples(store, 'cd');
    assert.equal(all.length, times.length + 10);
    assert.deepEqual(all.slice(0, 3), [
      [T0, 0],
      [T0 + 30, 5],
      [T0 + 60, 10],
    ]);
    // Every block decodes to strictly increasing times and no two blocks overlap.
    let last = -1;
    for (const k of await store.list({ sid: 'cd' })) {
      const s = decodeSeries((await store.read(k))!);
      assert.ok(s.times[0]! > last);
      last = s.times.at(-1)!;
    }
    assert.deepEqual(await readdir(join(dir, 'tmpo', 'sensor', 'cd', '0', '8')).catch(() => []), []);
    await store.close();
  });
});

test('readings acknowledged before a restart are there after it; the log is drained into blocks', async () => {
  await withTempDir(async (dir) => {
    const a = await FileReadingStore.open({ dir, checkpointMs: 3_600_000 });
    await a.addReadings('ef', 0, { times: [T0, T0 + 1], values: [1, 2] });
    await a.addHeartbeat('0123', true, T0);
    // No close: the readings are only in the log, as after a kill.
    const b = await FileReadingStore.open({ dir: dir });
    assert.deepEqual(await samples(b, 'ef'), [
      [T0, 1],
      [T0 + 1, 2],
    ]);
    assert.equal((await b.deviceState('0123'))?.resets, 1);
    assert.equal(b.stats().pending, 0);
    await b.close();
  });
});

test('SIGKILL at random moments loses no acknowledged reading and stores none twice', async () => {
  await withTempDir(async (dir) => {
    const child = join(__dirname, '..', '..', 'support', 'children', 'server-store-writer.js');
    let acked = -1;
    let next = 0;
    for (let round = 0; round < 4; round++) {
      const proc = spawn(process.execPath, [child, dir, String(next)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let buf = '';
      let err = '';
      proc.stderr.on('data', (d) => (err += d));
      const seen = new Promise<void>((resolve) => {
        proc.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop()!;
          for (const l of lines) {
            const m = /^acked (\d+)$/.exec(l);
            if (m) acked = Math.max(acked, Number(m[1]));
          }
          if (acked >= next + 200 + round * 300) resolve();
        });
        proc.once('exit', () => resolve());
      });
      await seen;
      await new Promise((r) => setTimeout(r, 5 + round * 17));
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      assert.equal(err, '', err);
      next = acked + 1;
      // Restart from the next unacknowledged one; readings between acked and the kill may be stored
      // already and are sent again, as a client would retry them.
      next = next - (next % 5);
    }
    const store = await FileReadingStore.open({ dir });
    const seen = new Map<number, number>();
    for (const sid of ['aa01', 'aa02', 'aa03']) {
      for (const [t, v] of await samples(store, sid)) {
        const i = t - T0;
        assert.ok(!seen.has(i), `reading ${i} twice`);
        seen.set(i, v);
        assert.equal(['aa01', 'aa02', 'aa03'][i % 3], sid);
        assert.equal(v, i * 2);
      }
    }
    for (let i = 0; i <= acked; i++) assert.ok(seen.has(i), `acknowledged reading ${i} missing`);
    await store.close();
  });
});
