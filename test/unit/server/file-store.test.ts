import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { FileReadingStore } from '../../../core/server/store/file-store';
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

test('compaction up to level 20 leaves no level-8 file behind in the windows it joined (what the readings become: the store contract)', async () => {
  await withTempDir(async (dir) => {
    let now = T0;
    const store = await FileReadingStore.open({ dir, now: () => now, compactMs: 0 });
    // Ten days and more, one reading every 10 minutes: past the end of a level-20 window.
    const times = Array.from({ length: 1501 }, (_, i) => T0 + i * 600);
    await store.addReadings('cd', 0, { times, values: times.map((_, i) => i * 10) });
    now = T0 + 40 * 86400;
    await store.flush();
    assert.ok((await store.list({ sid: 'cd' })).some((k) => k.lvl === 20));
    // Level-8 files only in the last 4096 s window, which no later data closed; the others are gone.
    const last12 = times.at(-1)! - (times.at(-1)! % 4096);
    const level8 = (await readdir(join(dir, 'tmpo', 'sensor', 'cd', '0', '8'))).map(Number);
    assert.ok(level8.length > 0 && level8.every((bid) => bid >= last12), JSON.stringify(level8));
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
