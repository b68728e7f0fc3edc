/**
 * Counting sources (the FLM03 board): `counter` records carry the source's own running totals,
 * `gauge` records its measurements, per port and clamp parameter.
 */
import { test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ReadingComputer, type Reading } from '../../../core/readings/computer';
import { CounterStateFile } from '../../../core/readings/counter-state';
import { boardBatchSchema, type BoardBatch, type PortRecord } from '../../../core/mqtt/board-batch';
import type { SensorInput } from '../../../core/config/schema';
import { device, sid, T0 } from '../../support/device';

const batch = (time: number, records: PortRecord[] = []): BoardBatch => ({ time, records });
const counter = (port: number, value: number, extra: Partial<PortRecord> = {}): PortRecord =>
  ({ kind: 'counter', port, value, ...extra }) as PortRecord;
const gauge = (port: number, value: number, extra: Partial<PortRecord> = {}): PortRecord =>
  ({ kind: 'gauge', port, value, ...extra }) as PortRecord;
const pick = (rs: Reading[], s: string, kind: 'gauge' | 'counter') =>
  rs.filter((r) => r.sid === s && r.kind === kind).map((r) => [r.value, r.unit]);

const CLAMP_PARAMETERS: SensorInput[] = [
  { n: 1, id: sid(1), name: 'grid', type: 'electricity', class: 'analog', port: [1] },
  { n: 2, id: sid(2), name: 'export', type: 'electricity', class: 'analog', port: [1], subtype: 'pminus' },
  { n: 3, id: sid(3), name: 'reactive', type: 'electricity', class: 'analog', port: [1], subtype: 'q1' },
  { n: 4, id: sid(4), name: 'voltage', type: 'electricity', class: 'analog', port: [1], subtype: 'vrms' },
  { n: 5, id: sid(5), name: 'pf', type: 'electricity', class: 'analog', port: [1], subtype: 'pf' },
];

test('a counting source: the published counter follows its total from the first batch on, whole Wh for a clamp', () => {
  const c = new ReadingComputer(device(CLAMP_PARAMETERS));
  let r = c.process(batch(T0, [counter(1, 1234.75), gauge(1, 2300.5)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[1234, 'Wh']]);
  assert.deepEqual(pick(r.readings, sid(1), 'gauge'), [[2300.5, 'W']]);
  r = c.process(batch(T0 + 1000, [counter(1, 1235.25)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[1235, 'Wh']]);
});

test('clamp parameters reach the sensor with that subtype, in its units; gauge-only parameters publish no counter', () => {
  const c = new ReadingComputer(device(CLAMP_PARAMETERS));
  const r = c.process(
    batch(T0, [
      counter(1, 10),
      counter(1, 3, { subtype: 'pminus' }),
      counter(1, 7.5, { subtype: 'q1' }),
      gauge(1, 100),
      gauge(1, 0, { subtype: 'pminus' }),
      gauge(1, -12.25, { subtype: 'q1' }),
      gauge(1, 230.123, { subtype: 'vrms' }),
      gauge(1, 0.999, { subtype: 'pf' }),
      gauge(1, 3, { subtype: 'irms' }), // no irms sensor: unmapped, not an error
    ]),
  );
  assert.deepEqual(pick(r.readings, sid(2), 'counter'), [[3, 'Wh']]);
  assert.deepEqual(pick(r.readings, sid(3), 'counter'), [[7, 'varh']]);
  assert.deepEqual(pick(r.readings, sid(3), 'gauge'), [[-12.25, 'var']]);
  assert.deepEqual(pick(r.readings, sid(4), 'gauge'), [[230.123, 'V']]);
  assert.deepEqual(pick(r.readings, sid(4), 'counter'), []);
  assert.deepEqual(pick(r.readings, sid(5), 'gauge'), [[0.999, '']]);
  assert.deepEqual(pick(r.readings, sid(5), 'counter'), []);
  assert.equal(r.unmapped, 1);
  assert.deepEqual(r.errors, []);
});

test('a counter record for a parameter without a counter is an error that names the sensor', () => {
  const c = new ReadingComputer(device(CLAMP_PARAMETERS));
  const r = c.process(batch(T0, [counter(1, 5, { subtype: 'vrms' })]));
  assert.deepEqual(r.errors, ['a counter record cannot feed vrms sensor "voltage", which has no counter']);
});

test('a pulse meter fed by its running total: exact thousandths, gauge from the pulse times, nothing counted twice', () => {
  const c = new ReadingComputer(
    device([{ n: 1, id: sid(1), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 10.01 }]),
  );
  let r = c.process(batch(T0 + 999, [counter(5, 100.1, { time: T0 + 500 } as Partial<PortRecord>)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[100.1, 'L']]);
  assert.deepEqual(pick(r.readings, sid(1), 'gauge'), [], 'one point in time: no rate yet');
  // 2 pulses (20.02 L) in 2 s: 20.02 / 2000 ms × 86 400 000 = 864 864 L/day
  r = c.process(batch(T0 + 2999, [counter(5, 120.12, { time: T0 + 2500 } as Partial<PortRecord>)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[120.12, 'L']]);
  assert.deepEqual(pick(r.readings, sid(1), 'gauge'), [[864864, 'L/day']]);
  // the same total again (a repeated frame) adds nothing
  r = c.process(batch(T0 + 3999, [counter(5, 120.12, { time: T0 + 2500 } as Partial<PortRecord>)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), []);
});

test('a source that restarts at 0 loses nothing already counted; the total is kept across a restart of the computer', () => {
  const dev = device([
    { n: 1, id: sid(1), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  ]);
  const c = new ReadingComputer(dev);
  c.process(batch(T0, [counter(4, 500)]));
  c.process(batch(T0 + 1000, [counter(4, 510)]));
  // the board reboots and counts from 0 again
  let r = c.process(batch(T0 + 2000, [counter(4, 3)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[513, 'Wh']]);
  // Node-RED restarts: the counter and the board's last total come back from the state file
  const saved = JSON.parse(JSON.stringify(c.snapshot()));
  assert.deepEqual(saved.sensors[sid(1)], { milli: 513_000, refs: { 4: 3 } });
  const again = new ReadingComputer(dev, saved);
  r = again.process(batch(T0 + 3000, [counter(4, 5)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[515, 'Wh']]);
});

test("a three-phase sensor sums its clamps: each port's total counts for itself, gauges of one batch add up", () => {
  const c = new ReadingComputer(
    device([{ n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1, 2, 3] }]),
  );
  let r = c.process(
    batch(T0, [counter(1, 100), counter(2, 200), counter(3, 300.5), gauge(1, 10), gauge(2, 20), gauge(3, 30.25)]),
  );
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[600, 'Wh']]);
  assert.deepEqual(pick(r.readings, sid(1), 'gauge'), [[60.25, 'W']]);
  // 600.5 + 1 + 0 + 0.5
  r = c.process(batch(T0 + 1000, [counter(1, 101), counter(2, 200), counter(3, 301)]));
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[602, 'Wh']]);
});

test('clamp energy from binary fractions adds up exactly: 65 536 steps of 1/65536 Wh are 1 Wh, not 0', () => {
  const c = new ReadingComputer(
    device([{ n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1] }]),
  );
  let last: number | undefined;
  for (let i = 1; i <= 65_536; i++) {
    const r = c.process(batch(T0 + i * 1000, [counter(1, i / 65536)]));
    last = (pick(r.readings, sid(1), 'counter')[0]?.[0] as number | undefined) ?? last;
  }
  assert.equal(last, 1);
});

test('new pulse types: pellets in g and g/s, a time counter in s with a unitless duty gauge', () => {
  const c = new ReadingComputer(
    device([
      { n: 1, id: sid(1), name: 'stove', type: 'pellet', class: 'pulse', port: [4], constant: 5 },
      { n: 2, id: sid(2), name: 'pump', type: 'time', class: 'pulse', port: [5], constant: 1 },
      { n: 3, id: sid(3), name: 'oil', type: 'fuel', class: 'pulse', port: [6], constant: 0.1 },
    ]),
  );
  c.process(
    batch(T0, [
      { kind: 'pulse', port: 4, pulses: 1, time: T0 },
      { kind: 'pulse', port: 5, pulses: 1, time: T0 },
      { kind: 'pulse', port: 6, pulses: 1, time: T0 },
    ]),
  );
  const r = c.process(
    batch(T0 + 4000, [
      { kind: 'pulse', port: 4, pulses: 1, time: T0 + 4000 },
      { kind: 'pulse', port: 5, pulses: 2, time: T0 + 4000 },
      { kind: 'pulse', port: 6, pulses: 1, time: T0 + 4000 },
    ]),
  );
  assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[10, 'g']]);
  assert.deepEqual(pick(r.readings, sid(1), 'gauge'), [[1.25, 'g/s']]);
  assert.deepEqual(pick(r.readings, sid(2), 'counter'), [[3, 's']]);
  assert.deepEqual(pick(r.readings, sid(2), 'gauge'), [[0.5, '']]);
  assert.deepEqual(pick(r.readings, sid(3), 'counter'), [[0.2, 'L']]);
  assert.deepEqual(pick(r.readings, sid(3), 'gauge'), [[2160, 'L/day']]);
});

test('the batch schema checks counter and gauge records like the others', () => {
  assert.ok(
    boardBatchSchema.safeParse({
      time: T0,
      records: [
        { kind: 'counter', port: 1, subtype: 'q2', value: 1.5 },
        { kind: 'gauge', sid: sid(1), value: -3 },
      ],
    }).success,
  );
  const bad = [
    { kind: 'counter', port: 1, value: -1 },
    { kind: 'counter', port: 1, subtype: 'q9', value: 1 },
    { kind: 'gauge', port: 1, sid: sid(1), value: 1 },
    { kind: 'gauge', port: 1, value: Number.NaN },
  ];
  for (const rec of bad)
    assert.equal(boardBatchSchema.safeParse({ time: T0, records: [rec] }).success, false, JSON.stringify(rec));
});

test("the source's last totals survive the state file", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-refs-'));
  try {
    const file = new CounterStateFile(join(dir, 'counters.json'));
    const dev = device([{ n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1, 2] }]);
    const c = new ReadingComputer(dev);
    c.process(batch(T0, [counter(1, 10.5), counter(2, 20)]));
    await file.save(c.snapshot());
    const loaded = await file.load();
    assert.equal(loaded.warning, undefined);
    assert.deepEqual(loaded.state.sensors[sid(1)], { joules: 30.5 * 3600, refs: { 1: 10.5, 2: 20 } });
    const again = new ReadingComputer(dev, loaded.state);
    const r = again.process(batch(T0 + 1000, [counter(1, 11.5), counter(2, 20)]));
    assert.deepEqual(pick(r.readings, sid(1), 'counter'), [[31, 'Wh']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
