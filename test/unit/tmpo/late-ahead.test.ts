/**
 * Readings whose clock is not the host's: late (a meter stamping gas with its capture time),
 * ahead (a simulator at ×600, a meter clock ahead), jittery. The recorder runs on a clock the
 * test sets, against a real store; what is on disk is read back with tmpo-py's rule (blocks in
 * its list order, each rebuilt from its head) and must be every accepted reading exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TmpoRecorder } from '../../../core/tmpo/recorder';
import { keyText, span, type BlockKey } from '../../../core/tmpo/ids';
import { blk2series } from '../../support/tmpo-py-client';
import { SID_A, SID_B, CFG, T0, withTempDir } from './support';

/** readings stamped up to 10 s either side of the sensor's clock */
const JITTER = 20;
const SID_GAS = '0000000000000000000000000000ca5e';

interface Run {
  rec: TmpoRecorder;
  clock: { now: number };
  published: Map<string, Buffer>;
  warnings: string[];
}

async function open(
  dir: string,
  clock: { now: number },
  published: Map<string, Buffer>,
  warnings: string[],
  horizonSeconds?: number,
): Promise<Run> {
  const rec = await TmpoRecorder.open({
    dataDir: dir,
    deviceId: '0123456789abcdef0123456789abcdef',
    cfgFor: (sid) => ({ ...CFG, id: sid }),
    now: () => clock.now,
    ...(horizonSeconds !== undefined ? { horizonSeconds } : {}),
    onBlock: (k, bytes) => {
      const id = keyText(k);
      const before = published.get(id);
      // a key published twice must carry the same bytes
      if (before) assert.deepEqual(bytes, before, `${id} published again with other bytes`);
      published.set(id, bytes);
    },
    onWarning: (w) => warnings.push(w),
  });
  return { rec, clock, published, warnings };
}

/** The host clock moves to `until` one tick at a time, as flm-tmpo ticks every second. */
async function runUntil(run: Run, until: number, step = 1): Promise<void> {
  while (run.clock.now < until) {
    run.clock.now = Math.min(until, run.clock.now + step);
    await run.rec.tick();
  }
}

/** Every stored sample of a sensor, as tmpo-py's `series` puts them together. */
async function tmpoPySeries(
  rec: TmpoRecorder,
  sid: string,
): Promise<{ times: number[]; values: number[]; keys: BlockKey[] }> {
  await rec.idle();
  const keys = await rec.store.list({ sid });
  const times: number[] = [];
  const values: number[] = [];
  for (const k of keys) {
    const s = blk2series('gz', (await rec.store.read(k))!);
    times.push(...s.times);
    values.push(...s.values);
  }
  return { times, values, keys };
}

function assertExactlyOnce(
  got: { times: number[]; values: number[] },
  want: Array<[number, number]>,
  what: string,
): void {
  for (let i = 1; i < got.times.length; i++)
    assert.ok(got.times[i]! > got.times[i - 1]!, `${what}: times increase (${got.times[i - 1]} then ${got.times[i]})`);
  assert.deepEqual(
    got.times,
    want.map(([t]) => t),
    `${what}: every reading once`,
  );
  got.values.forEach((v, i) =>
    assert.ok(
      Math.abs(v - want[i]![1]) < 1e-6,
      `${what}: value at ${got.times[i]}: ${v} != ${want[i]![1]} (${got.values.slice(Math.max(0, i - 3), i + 3)} / ${want.slice(Math.max(0, i - 3), i + 3).map((w) => w[1])})`,
    ),
  );
}

test('gas stamped with its capture time, 6 minutes late, and a meter 3 h 10 min behind: every capture stored once, in its own window', async () => {
  await withTempDir(async (dir) => {
    const run = await open(dir, { now: T0 }, new Map(), []);
    const gas: Array<[number, number]> = [];
    const elec: Array<[number, number]> = [];
    const slow: Array<[number, number]> = [];
    const end = T0 + 5 * 3600;
    for (let host = T0 + 1; host <= end; host += 1) {
      run.clock.now = host;
      if (host % 10 === 0) {
        elec.push([host, 1000 + elec.length]);
        assert.equal(run.rec.push(SID_A, 0, host, 1000 + elec.length - 1), 'accepted');
      }
      // captured every 5 min, arriving 6 min later
      const captured = host - 360;
      if (captured > T0 && captured % 300 === 0) {
        gas.push([captured, 5 + gas.length * 0.01]);
        assert.equal(run.rec.push(SID_GAS, 0, captured, gas.at(-1)![1]), 'accepted', `gas ${captured} at ${host}`);
      }
      // an hourly capture arriving 3 h 10 min late
      const hourly = host - 3 * 3600 - 600;
      if (hourly > T0 && hourly % 3600 === 0) {
        slow.push([hourly, 100 + slow.length]);
        assert.equal(run.rec.push(SID_B, 0, hourly, 100 + slow.length - 1), 'accepted', `hourly ${hourly} at ${host}`);
      }
      await run.rec.tick();
    }
    await run.rec.tick({ force: true });
    await runUntil(run, end + 4 * 3600, 10);
    await run.rec.tick({ force: true });
    const g = await tmpoPySeries(run.rec, SID_GAS);
    assertExactlyOnce(g, gas, 'gas');
    for (const k of g.keys) {
      const s = blk2series('gz', (await run.rec.store.read(k))!);
      assert.ok(
        s.times.every((t) => t >= k.bid && t < k.bid + span(k.lvl)),
        `gas block ${keyText(k)} holds only its own window`,
      );
    }
    assertExactlyOnce(await tmpoPySeries(run.rec, SID_A), elec, 'electricity');
    assertExactlyOnce(await tmpoPySeries(run.rec, SID_B), slow, 'hourly');
    assert.deepEqual(
      run.rec
        .stats()
        .map((s) => [s.sid, s.counters.expired, s.counters['out-of-order']])
        .filter(([, a, b]) => a || b),
      [],
    );
    assert.deepEqual(run.warnings, []);
    await run.rec.close();
  });
});

test('a source ×600 ahead of the host: every window is written as it fills, nothing refused, no block written twice', async () => {
  await withTempDir(async (dir) => {
    const run = await open(dir, { now: T0 }, new Map(), []);
    const want: Array<[number, number]> = [];
    let sim = T0;
    // one host minute: 10 simulated hours, a reading every 5 simulated seconds
    for (let host = T0 + 1; host <= T0 + 60; host++) {
      run.clock.now = host;
      for (let i = 0; i < 120; i++) {
        sim += 5;
        want.push([sim, want.length * 0.5]);
        assert.equal(run.rec.push(SID_A, 0, sim, want.at(-1)![1]), 'accepted');
      }
      await run.rec.tick();
    }
    const onDisk = await tmpoPySeries(run.rec, SID_A);
    assert.ok(onDisk.times.at(-1)! >= sim - 8 * 256, 'on disk up to the last 8 windows, which are still open');
    assertExactlyOnce(onDisk, want.slice(0, onDisk.times.length), 'written');
    // the open blocks survive a restart and are written later: all of it, once
    await run.rec.close();
    const again = await open(dir, run.clock, run.published, run.warnings);
    await again.rec.tick({ force: true });
    for (let i = 0; i < 8; i++) {
      again.clock.now += 256 * 40;
      await again.rec.tick();
    }
    await again.rec.tick({ force: true });
    assertExactlyOnce(await tmpoPySeries(again.rec, SID_A), want, 'all of it');
    assert.deepEqual(run.warnings, []);
    await again.rec.close();
  });
});

test('a meter 30 s behind, with jitter and repeats: stored once each, the blocks compacted while late readings still arrive', async () => {
  await withTempDir(async (dir) => {
    const run = await open(dir, { now: T0 }, new Map(), [], 3600);
    const want: Array<[number, number]> = [];
    let last = 0;
    for (let host = T0 + 40; host <= T0 + 4 * 3600; host++) {
      run.clock.now = host;
      // behind by 25..35 s, so now and then a reading arrives after one stamped later
      const ts = host - 30 + ((host * 7919) % 11) - 5;
      const outcome = run.rec.push(SID_A, 0, ts, (ts - T0) / 10);
      if (ts > last) {
        assert.equal(outcome, 'accepted', `${ts} at ${host}`);
        want.push([ts, (ts - T0) / 10]);
        last = ts;
      } else assert.equal(outcome, 'out-of-order');
      if (host % 97 === 0)
        assert.equal(run.rec.push(SID_A, 0, last, 0), 'out-of-order', 'a repeat is never stored twice');
      await run.rec.tick();
    }
    await runUntil(run, T0 + 8 * 3600, 16);
    await run.rec.tick({ force: true });
    const got = await tmpoPySeries(run.rec, SID_A);
    assertExactlyOnce(got, want, 'meter');
    assert.ok(
      got.keys.some((k) => k.lvl > 8),
      'compaction ran',
    );
    assert.deepEqual(run.warnings, []);
    await run.rec.close();
  });
});

test('older than the horizon is counted as expired; within it, stored', async () => {
  await withTempDir(async (dir) => {
    const run = await open(dir, { now: T0 }, new Map(), [], 3600);
    await runUntil(run, T0 + 3 * 3600, 16);
    const now = run.clock.now;
    assert.equal(run.rec.push(SID_A, 0, now - 2 * 3600 - 600, 1), 'expired');
    assert.equal(run.rec.push(SID_A, 0, now - 2400, 2), 'accepted');
    assert.equal(run.rec.stats()[0]!.counters.expired, 1);
    await run.rec.close();
  });
});

test('a crash after a block was written but before the journal was saved again: no key reused, no reading twice', async () => {
  await withTempDir(async (dir) => {
    const published = new Map<string, Buffer>();
    const warnings: string[] = [];
    const run = await open(dir, { now: T0 }, published, warnings);
    await run.rec.tick();
    const want: Array<[number, number]> = [];
    for (let i = 0; i < 200; i++) {
      want.push([T0 + i, i]);
      run.rec.push(SID_A, 0, T0 + i, i);
    }
    await run.rec.checkpoint();
    await runUntil(run, T0 + 256 + 30); // the block is written; the journal still holds it
    assert.equal(published.size, 1);
    // kill -9 here: no close. The next run finds the stale journal and goes on.
    const next = await open(dir, run.clock, published, warnings);
    for (let i = 300; i < 320; i++) {
      want.push([T0 + i, i]);
      assert.equal(next.rec.push(SID_A, 0, T0 + i, i), 'accepted');
    }
    await next.rec.tick({ force: true });
    assertExactlyOnce(await tmpoPySeries(next.rec, SID_A), want, 'after the crash');
    assert.deepEqual(
      warnings.filter((w) => /already on disk/.test(w)),
      [],
    );
    await next.rec.close();
  });
});

test('random clocks, jitter, repeats, restarts and crashes: every accepted reading on disk exactly once, in order, no key ever published with other bytes', async () => {
  for (const seed of [1, 2, 3, 4]) {
    await withTempDir(async (dir) => {
      let r = seed * 2654435761;
      const rnd = () => (r = (Math.imul(r ^ (r >>> 15), 2246822507) + 0x6d2b79f5) >>> 0) / 2 ** 32;
      const published = new Map<string, Buffer>();
      const warnings: string[] = [];
      const clock = { now: T0 };
      let run = await open(dir, clock, published, warnings, 3600);
      const sensors = [SID_A, SID_B, SID_GAS].map((sid) => ({
        sid,
        offset: 0,
        last: -1,
        value: 0,
        accepted: [] as Array<[number, number]>,
      }));
      const outcomes: Record<string, number> = {};
      for (let step = 0; step < 4000; step++) {
        clock.now += 1 + Math.floor(rnd() * 12);
        for (const s of sensors) {
          if (rnd() < 0.01) {
            // the sensor's clock changes: behind by up to 2 h, on time, or ahead by up to a day
            const pick = rnd();
            s.offset = pick < 0.4 ? -Math.floor(rnd() * 7200) : pick < 0.7 ? 0 : Math.floor(rnd() * 86400);
          }
          if (rnd() < 0.5) continue;
          const repeat = s.last >= 0 && rnd() < 0.05;
          const ts = repeat ? s.last : Math.max(0, clock.now + s.offset + Math.floor(rnd() * JITTER) - JITTER / 2);
          const value = repeat ? s.value : s.value + 1 + Math.floor(rnd() * 5);
          const outcome = run.rec.push(s.sid, 0, ts, value);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          if (outcome === 'accepted') {
            s.accepted.push([ts, value]);
            s.value = value;
          }
          if (!repeat) s.last = ts;
        }
        await run.rec.tick();
        const event = rnd();
        if (event < 0.003) {
          await run.rec.close();
          run = await open(dir, clock, published, warnings, 3600);
        } else if (event < 0.006) {
          // kill -9 a little after a checkpoint: the journal may hold blocks written since
          await run.rec.checkpoint();
          for (let i = 0; i < 20; i++) {
            clock.now += 15;
            await run.rec.tick();
          }
          await run.rec.idle();
          run = await open(dir, clock, published, warnings, 3600);
        }
      }
      await run.rec.tick({ force: true });
      clock.now += 3 * 86400;
      await run.rec.tick();
      clock.now += 300;
      await run.rec.tick({ force: true });
      for (const s of sensors) {
        const want = [...s.accepted].sort((a, b) => a[0] - b[0]);
        assertExactlyOnce(await tmpoPySeries(run.rec, s.sid), want, `seed ${seed} sensor ${s.sid.slice(-4)}`);
      }
      assert.deepEqual(warnings, [], `seed ${seed}`);
      assert.ok((outcomes['accepted'] ?? 0) > 2000, `seed ${seed}: ${JSON.stringify(outcomes)}`);
      console.log(`# seed ${seed}: ${JSON.stringify(outcomes)}, ${published.size} blocks published`);
      await run.rec.close();
    });
  }
});

test('a meter clock 2 h ahead, set right after a restart: the readings go into the windows the clock ahead left free', async () => {
  await withTempDir(async (dir) => {
    const run = await open(dir, { now: T0 }, new Map(), []);
    const want: Array<[number, number]> = [];
    for (let host = T0 + 1; host <= T0 + 1800; host++) {
      run.clock.now = host;
      if (host % 5 === 0) {
        want.push([host + 7200, 1000 + want.length]);
        assert.equal(run.rec.push(SID_A, 0, host + 7200, 1000 + want.length - 1), 'accepted');
      }
      await run.rec.tick();
    }
    await run.rec.close();
    const again = await open(dir, run.clock, run.published, run.warnings);
    for (let host = T0 + 1801; host <= T0 + 3600; host++) {
      again.clock.now = host;
      if (host % 5 === 0) {
        want.push([host, 500 + want.length]);
        assert.equal(again.rec.push(SID_A, 0, host, 500 + want.length - 1), 'accepted', `set right: ${host}`);
      }
      await again.rec.tick();
    }
    await runUntil(again, T0 + 4 * 3600, 60);
    await again.rec.tick({ force: true });
    assertExactlyOnce(
      await tmpoPySeries(again.rec, SID_A),
      want.sort((a, b) => a[0] - b[0]),
      'before and after the clock was set',
    );
    assert.deepEqual(run.warnings, []);
    await again.rec.close();
  });
});

test('a block a source ahead filled is written at close even without a tick in between', async () => {
  await withTempDir(async (dir) => {
    const run = await open(dir, { now: T0 }, new Map(), []);
    for (let i = 0; i <= 8; i++) assert.equal(run.rec.push(SID_A, 0, T0 + 3600 + i * 256, i), 'accepted');
    await run.rec.close();
    assert.deepEqual(await run.rec.store.list({ sid: SID_A }), [{ sid: SID_A, rid: 0, lvl: 8, bid: T0 + 3584 }]);
    const again = await open(dir, run.clock, run.published, run.warnings);
    await runUntil(again, T0 + 3600 + 10 * 256, 16);
    await again.rec.tick({ force: true });
    assert.equal((await tmpoPySeries(again.rec, SID_A)).times.length, 9, 'the other eight from the journal');
    await again.rec.close();
  });
});
