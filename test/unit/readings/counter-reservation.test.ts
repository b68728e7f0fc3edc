/**
 * Counters published only within a reservation saved ahead of them (counter-reservation.ts):
 * a start from the last save, wherever a crash fell, never publishes a counter below one
 * published before it, and a clean stop leaves nothing reserved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CounterReservations } from '../../../core/readings/counter-reservation';
import { ReadingComputer } from '../../../core/readings/computer';
import type { CounterState } from '../../../core/readings/counter-state';
import type { BoardBatch } from '../../../core/mqtt/board-batch';
import { prng } from '../../../core/util/prng';
import { device, sid, T0 } from '../../support/device';

test('a reservation reaches ahead by the recent rate times the lead, at least the minimum, and a burst does not inflate it', () => {
  let now = 0;
  const r = new CounterReservations({ now: () => now, aheadMs: 10_000, minAhead: 1 });
  assert.equal(r.covers('a', 0), false, 'nothing reserved: nothing may go out yet');
  assert.equal(r.raise('a', 100), true);
  assert.equal(r.reserved('a'), 101, 'no rate known yet: the minimum');
  now = 5_000;
  assert.equal(r.raise('a', 150), true);
  assert.equal(r.reserved('a'), 250, '10 units/s over 5 s: 10 s ahead');
  assert.equal(r.covers('a', 250), true);
  assert.equal(r.covers('a', 250.001), false);
  now = 5_100;
  r.raise('a', 400);
  assert.equal(r.reserved('a'), 900, '250 in 0.1 s is taken over 5 s (half the lead): 500 ahead, not 25,000');
  r.release();
  assert.equal(r.reserved('a'), undefined);
});

test('a reservation is left alone while it still holds more than half its lead (fewer writes)', () => {
  let now = 0;
  const r = new CounterReservations({ now: () => now, aheadMs: 10_000, minAhead: 1 });
  r.raise('a', 0);
  now = 5_000;
  r.raise('a', 50);
  assert.equal(r.reserved('a'), 150);
  now = 6_000;
  assert.equal(r.raise('a', 60), false, '90 left of a 20 lead');
  assert.equal(r.reserved('a'), 150);
});

/**
 * The node's protocol with a crash at random moments: counters go out only when covered (else
 * reserve and save first), a save every 5 s; a crash restarts from the last save.
 */
test('crashes at random moments: the first counter after each restart is at or above the last one published', () => {
  const seed = Number(process.env.FLM_RESERVE_SEED) || Math.floor(Math.random() * 2 ** 31);
  const rnd = prng(seed);
  const d = device();
  let host = T0;
  let saved: CounterState = { sensors: {} };
  const save = (c: ReadingComputer) => (saved = JSON.parse(JSON.stringify(c.snapshot())) as CounterState);
  let c = new ReadingComputer(d, saved, { now: () => host });
  const last = new Map<string, number>();
  let writes = 0;
  let crashes = 0;
  let restartLead = 0;
  let firstAfterCrash = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    host += 1000;
    const batch: BoardBatch = {
      time: host,
      records: [
        { kind: 'analog', port: 1, power: Math.round(rnd() * 9000) },
        { kind: 'pulse', port: 4, pulses: Math.floor(rnd() * 3), time: host - 10 },
        { kind: 'pulse', port: 6, pulses: rnd() < 0.1 ? 1 : 0, time: host - 10 },
      ],
    };
    const r = c.process(batch);
    if (!c.covers(r.readings)) {
      assert.equal(c.reserve(), true);
      save(c);
      writes++;
    }
    for (const x of r.readings) {
      if (x.kind !== 'counter') continue;
      const before = last.get(x.sid);
      assert.ok(
        before === undefined || x.value >= before,
        `seed ${seed}: ${x.sensor.name} ${before} -> ${x.value} (batch ${i}, crash ${crashes})`,
      );
      if (firstAfterCrash.delete(x.sid) && before !== undefined) restartLead = Math.max(restartLead, x.value - before);
      last.set(x.sid, x.value);
    }
    if (i % 5 === 4 && c.dirty) {
      c.reserve();
      save(c);
    }
    if (rnd() < 0.01) {
      crashes++;
      c = new ReadingComputer(d, saved, { now: () => host });
      firstAfterCrash = new Set(last.keys());
    }
  }
  assert.ok(crashes > 100, `crashes: ${crashes}`);
  assert.ok(writes < 20_000 / 10, `seed ${seed}: ${writes} out-of-turn saves in 20,000 batches`);
  // Up to 9 kW: 2.5 Wh a second, so about 25 Wh (10 s) ahead at most, plus the minimum.
  assert.ok(restartLead <= 60, `seed ${seed}: a restart resumed ${restartLead} above the last published`);
});

test('a clean stop releases the reservations: the next start resumes at the exact count', () => {
  let host = T0;
  const d = device();
  const c = new ReadingComputer(d, { sensors: {} }, { now: () => host });
  for (let i = 0; i < 30; i++) {
    host += 1000;
    c.process({ time: host, records: [{ kind: 'pulse', port: 4, pulses: 2, time: host - 10 }] });
    c.reserve();
  }
  assert.ok(c.snapshot().sensors[sid(2)]!.reserved! > 60);
  c.releaseReservations();
  const snap = c.snapshot();
  assert.deepEqual(snap.sensors[sid(2)], { milli: 60_000 });
  const next = new ReadingComputer(d, snap, { now: () => host });
  const r = next.process({ time: host + 1000, records: [] });
  assert.deepEqual(
    r.readings.filter((x) => x.sid === sid(2)).map((x) => x.value),
    [60],
  );
});

test('a start after a crash resumes at the reservation when it is above the saved count', () => {
  const d = device();
  const state: CounterState = {
    sensors: {
      [sid(1)]: { joules: 3600 * 10, reserved: 14 },
      [sid(2)]: { milli: 5000, reserved: 7.5 },
      [sid(3)]: { milli: 9000, reserved: 2 },
    },
  };
  const c = new ReadingComputer(d, state, { now: () => T0 });
  const r = c.process({ time: T0, records: [] });
  const value = (n: number) => r.readings.find((x) => x.sid === sid(n) && x.kind === 'counter')?.value;
  assert.equal(value(1), 14);
  assert.equal(value(2), 7.5);
  assert.equal(value(3), 9, 'a reservation below the count changes nothing');
});
