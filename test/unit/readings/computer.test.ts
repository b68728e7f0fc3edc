import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadingComputer, type Reading } from '../../../core/readings/computer';
import type { BoardBatch, PortRecord } from '../../../core/mqtt/board-batch';
import { device, sid, T0 } from '../../support/device';

const batch = (time: number, records: PortRecord[] = []): BoardBatch => ({ time, records });
const pulse = (port: number, pulses: number, time?: number): PortRecord => ({ kind: 'pulse', port, pulses, time });
const analog = (port: number, power: number): PortRecord => ({ kind: 'analog', port, power });
const pick = (rs: Reading[], s: string, kind: 'gauge' | 'counter') => rs.filter((r) => r.sid === s && r.kind === kind);
const ts = (ms: number) => Math.floor(ms / 1000);

test('pulse counter: a fractional meter constant is exact (1000 × 1.001 Wh = 1001 Wh, where the FLM counts 1000)', () => {
  const c = new ReadingComputer(
    device([{ n: 1, id: sid(1), name: 'm', type: 'electricity', class: 'pulse', port: [4], constant: 1.001 }]),
  );
  let last: Reading | undefined;
  for (let i = 1; i <= 1000; i++) {
    const r = c.process(batch(T0 + i * 1000, [pulse(4, 1, T0 + i * 1000 - 500)]));
    last = pick(r.readings, sid(1), 'counter')[0] ?? last;
  }
  assert.equal(last!.value, 1001);
  assert.equal(last!.unit, 'Wh');
  assert.equal(last!.ts, ts(T0 + 1000 * 1000));
});

test('pulse counter: 10.01 L per pulse stays 10.01 (the FLM splits it into 10 + 0.009)', () => {
  const c = new ReadingComputer(
    device([{ n: 1, id: sid(1), name: 'g', type: 'gas', class: 'pulse', port: [5], constant: 10.01 }]),
  );
  const r = c.process(batch(T0, [pulse(5, 3)]));
  assert.deepEqual(
    pick(r.readings, sid(1), 'counter').map((x) => [x.value, x.unit]),
    [[30.03, 'L']],
  );
});

test('pulse gauge: average power between the last pulses of two batches', () => {
  const c = new ReadingComputer(device());
  // solar, 1 Wh per pulse; pulses 1.8 s apart mean 2000 W
  let r = c.process(batch(T0 + 1000, [pulse(4, 1, T0 + 200)]));
  assert.equal(pick(r.readings, sid(2), 'gauge').length, 0, 'the first pulse only sets the reference');
  r = c.process(batch(T0 + 3000, [pulse(4, 1, T0 + 2000)]));
  assert.deepEqual(
    pick(r.readings, sid(2), 'gauge').map((g) => [g.ts, g.value, g.unit]),
    [[ts(T0 + 3000), 2000, 'W']],
  );
  // three pulses in one batch over 1.5 s: 3 Wh / 1.5 s = 7200 W
  r = c.process(batch(T0 + 4000, [pulse(4, 3, T0 + 3500)]));
  assert.equal(pick(r.readings, sid(2), 'gauge')[0]!.value, 7200);
});

test('water and gas gauges are in L/day', () => {
  const c = new ReadingComputer(device());
  c.process(batch(T0 + 1000, [pulse(6, 1, T0 + 1000)]));
  const r = c.process(batch(T0 + 61_000, [pulse(6, 1, T0 + 61_000)]));
  // 1 L per 60 s = 1440 L/day
  assert.deepEqual(
    pick(r.readings, sid(4), 'gauge').map((g) => [g.value, g.unit]),
    [[1440, 'L/day']],
  );
  assert.deepEqual(
    pick(r.readings, sid(4), 'counter').map((g) => [g.value, g.unit]),
    [[2, 'L']],
  );
});

test('a pulse gauge decays toward 0 when pulses stop, bounded by constant / silence', () => {
  const c = new ReadingComputer(device());
  const last = T0 + 1800;
  c.process(batch(T0 + 1000, [pulse(4, 1, T0)]));
  c.process(batch(T0 + 2000, [pulse(4, 1, last)])); // 1 Wh in 1.8 s = 2000 W
  const gauges: number[] = [];
  for (let silence = 1000; silence <= 8000 * 1000; silence += 1000) {
    const g = pick(c.process(batch(last + silence)).readings, sid(2), 'gauge');
    if (g.length) gauges.push(g[0]!.value);
  }
  // 1 s of silence bounds 1 Wh to 3600 W, above 2000 W: no change; 2 s: 1800 W; 3 s: 1200 W; 4 s: 900 W
  assert.deepEqual(gauges.slice(0, 3), [1800, 1200, 900]);
  for (let i = 1; i < gauges.length; i++) assert.ok(gauges[i]! < gauges[i - 1]!, 'strictly decreasing');
  assert.ok(gauges.includes(1), 'an hour of silence bounds it to 1 W');
  assert.equal(gauges.at(-1), 0, 'reaches 0 once the bound rounds to 0');
  const after = c.process(batch(last + 8001 * 1000));
  assert.equal(pick(after.readings, sid(2), 'gauge').length, 0, 'and stays quiet at 0');
  const back = c.process(batch(last + 8002 * 1000, [pulse(4, 1, last + 8001 * 1000 + 800)]));
  assert.equal(
    pick(back.readings, sid(2), 'gauge')[0]!.value,
    Math.round(3.6e6 / (8001 * 1000 + 800)),
    'a new pulse gives the true average again',
  );
});

test('analog clamp: a gauge every second and a whole-Wh counter integrated exactly', () => {
  const c = new ReadingComputer(device());
  let counter: Reading | undefined;
  let gauges = 0;
  for (let i = 0; i <= 3600; i++) {
    const r = c.process(batch(T0 + i * 1000, [analog(1, 1000)]));
    gauges += pick(r.readings, sid(1), 'gauge').length;
    counter = pick(r.readings, sid(1), 'counter')[0] ?? counter;
  }
  assert.equal(gauges, 3601);
  assert.equal(counter!.value, 1000, '1000 W for an hour is exactly 1000 Wh');
  assert.equal(counter!.ts, ts(T0 + 3600 * 1000));
});

test('analog clamp with fractional watts does not lose a Wh to float error', () => {
  const c = new ReadingComputer(device());
  let counter: Reading | undefined;
  for (let i = 0; i <= 36_000; i++) {
    counter = pick(c.process(batch(T0 + i * 1000, [analog(1, 100.1)])).readings, sid(1), 'counter')[0] ?? counter;
  }
  // 100.1 W × 10 h = 1001 Wh
  assert.equal(counter!.value, 1001);
});

test('3-phase: one analog sensor on ports 1,2,3 sums power and energy over the phases', () => {
  const d = device([{ n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1, 2, 3] }], {
    phase: 3,
  });
  const c = new ReadingComputer(d);
  let r = c.process(batch(T0, [analog(1, 1000), analog(2, 500), analog(3, 300.4)]));
  assert.deepEqual(
    pick(r.readings, sid(1), 'gauge').map((g) => g.value),
    [1800],
  );
  for (let i = 1; i <= 1800; i++)
    r = c.process(batch(T0 + i * 1000, [analog(1, 1000), analog(2, 500), analog(3, 300)]));
  const counter = new ReadingComputer(d, c.snapshot());
  const cr = counter.process(batch(T0 + 1801 * 1000));
  assert.deepEqual(
    pick(cr.readings, sid(1), 'counter').map((x) => x.value),
    [900],
  );
});

test('analog energy is not integrated across a gap longer than 10 s', () => {
  const c = new ReadingComputer(device());
  c.process(batch(T0, [analog(1, 3600)]));
  c.process(batch(T0 + 1000, [analog(1, 3600)])); // +1 Wh
  c.process(batch(T0 + 61_000, [analog(1, 3600)])); // 60 s gap: unknown, skipped
  const r = c.process(batch(T0 + 62_000, [analog(1, 3600)])); // +1 Wh
  assert.deepEqual(
    pick(r.readings, sid(1), 'counter').map((x) => x.value),
    [2],
  );
});

test('at most one gauge and one counter per sensor per second', () => {
  const c = new ReadingComputer(device());
  const a = c.process(batch(T0 + 100, [analog(1, 500), pulse(5, 1, T0 + 50)]));
  const b = c.process(batch(T0 + 600, [analog(1, 600), pulse(5, 1, T0 + 550)]));
  assert.equal(pick(a.readings, sid(1), 'gauge').length, 1);
  assert.equal(pick(b.readings, sid(1), 'gauge').length, 0);
  assert.deepEqual(
    pick(a.readings, sid(3), 'counter').map((x) => x.value),
    [10],
  );
  assert.equal(pick(b.readings, sid(3), 'counter').length, 0, 'second change in the same second waits');
  const n = c.process(batch(T0 + 1100));
  assert.deepEqual(
    pick(n.readings, sid(3), 'counter').map((x) => x.value),
    [20],
    'and is published the next second',
  );
});

test('counters are published at the first valid batch, then only when they change', () => {
  const c = new ReadingComputer(device());
  const first = c.process(batch(T0));
  assert.deepEqual(
    first.readings
      .filter((r) => r.kind === 'counter')
      .map((r) => [r.sensor.name, r.value])
      .sort(),
    [
      ['gas', 0],
      ['main', 0],
      ['solar', 0],
      ['water', 0],
    ],
  );
  assert.equal(c.process(batch(T0 + 1000)).readings.filter((r) => r.kind === 'counter').length, 0);
});

test('an invalid clock holds readings back but keeps counting', () => {
  const c = new ReadingComputer(device());
  const early = 1234567890 * 1000;
  for (let i = 0; i < 5; i++) {
    const r = c.process(batch(early - 10_000 + i * 1000, [pulse(6, 2, early - 10_000 + i * 1000)]));
    assert.equal(r.heldBack, true);
    assert.equal(r.readings.length, 0);
  }
  const at = c.process(batch(early, [pulse(6, 1)]));
  assert.equal(at.heldBack, true, 'exactly 1234567890 is still invalid');
  const r = c.process(batch(T0, [pulse(6, 1)]));
  assert.equal(r.heldBack, false);
  assert.deepEqual(
    pick(r.readings, sid(4), 'counter').map((x) => x.value),
    [12],
    'all 12 pulses counted',
  );
});

test('validAfter of the device is honoured', () => {
  const c = new ReadingComputer(device(undefined, { validAfter: ts(T0) }));
  assert.equal(c.process(batch(T0 + 999, [analog(1, 1)])).heldBack, true);
  assert.equal(c.process(batch(T0 + 1000, [analog(1, 1)])).heldBack, false);
});

test('records for unknown sensor ids are errors; unused ports are counted, not errors', () => {
  const c = new ReadingComputer(device());
  const unknown = 'f'.repeat(32);
  const r = c.process(
    batch(T0, [{ kind: 'pulse', sid: unknown, pulses: 1 }, pulse(9, 1), { kind: 'pulse', sid: sid(4), pulses: 3 }]),
  );
  assert.deepEqual(r.errors, [`unknown sensor id ${unknown}: not an enabled pulse or analog sensor of this device`]);
  assert.equal(r.unmapped, 1);
  assert.deepEqual(
    pick(r.readings, sid(4), 'counter').map((x) => x.value),
    [3],
    'the good record still counts',
  );
});

test('a record of the wrong kind for its sensor is an error', () => {
  const c = new ReadingComputer(device());
  const r = c.process(batch(T0, [analog(4, 100)]));
  assert.match(r.errors[0]!, /analog record cannot feed pulse sensor "solar"/);
});

test('disabled sensors are ignored', () => {
  const c = new ReadingComputer(
    device([{ n: 1, id: sid(1), name: 'w', type: 'water', class: 'pulse', port: [6], constant: 1, enable: false }]),
  );
  const r = c.process(batch(T0, [pulse(6, 1)]));
  assert.equal(r.readings.length, 0);
  assert.equal(r.unmapped, 1);
});

test('a pulse time that goes backwards (board reset) re-bases without a gauge', () => {
  const c = new ReadingComputer(device());
  c.process(batch(T0 + 1000, [pulse(4, 1, T0 + 900)]));
  const r = c.process(batch(T0 + 2000, [pulse(4, 1, T0 + 100)]));
  assert.equal(pick(r.readings, sid(2), 'gauge').length, 0);
  const n = c.process(batch(T0 + 3000, [pulse(4, 1, T0 + 1900)]));
  assert.equal(pick(n.readings, sid(2), 'gauge')[0]!.value, 2000);
});

test('counters continue from a snapshot (restart)', () => {
  const d = device();
  const a = new ReadingComputer(d);
  a.process(batch(T0, [pulse(5, 7), analog(1, 7200)]));
  a.process(batch(T0 + 1000, [analog(1, 7200)]));
  assert.equal(a.dirty, true);
  const snap = a.snapshot();
  assert.equal(a.dirty, false);
  assert.deepEqual(snap.sensors[sid(3)], { milli: 70_000 });
  assert.deepEqual(snap.sensors[sid(1)], { joules: 7200 });
  const b = new ReadingComputer(d, snap);
  const r = b.process(batch(T0 + 5000, [pulse(5, 1)]));
  assert.deepEqual(
    pick(r.readings, sid(3), 'counter').map((x) => x.value),
    [80],
  );
  assert.deepEqual(
    pick(r.readings, sid(1), 'counter').map((x) => x.value),
    [2],
  );
});

test('with FLM03 parameters on one clamp port, board power goes to the pplus sensor only', () => {
  const d = device([
    { n: 1, id: sid(1), name: 'vrms', type: 'electricity', class: 'analog', port: [1], subtype: 'vrms' },
    { n: 2, id: sid(2), name: 'pplus', type: 'electricity', class: 'analog', port: [1], subtype: 'pplus' },
  ]);
  const r = new ReadingComputer(d).process(batch(T0, [analog(1, 500)]));
  assert.deepEqual(
    r.readings.filter((x) => x.kind === 'gauge').map((x) => [x.sensor.name, x.value]),
    [['pplus', 500]],
  );
});
