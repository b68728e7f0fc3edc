import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sensor } from '../../../core/config/schema';
import { Flm03Decoder } from '../../../core/flx/flm03-decoder';
import type { CtData, PulseData } from '../../../core/flx/flm03-messages';
import { ctDataReadings, decideBoardTime, pulseDataReadings, pulseUnits } from '../../../core/flx/flm03-readings';
import { portConfigFromSensors, portConfigFrame } from '../../../core/flx/flm03-port-config';
import { device, sid } from '../../support/device';
import { ctDataPayload, goldenFrame, le, pulseDataPayload, T_BOARD } from './support';

const decodeOne = <T>(frame: Uint8Array): T => {
  const [m] = new Flm03Decoder().push(frame);
  assert.ok(m);
  return m as T;
};

const sensor = (n: number, s: Partial<Sensor> & Pick<Sensor, 'class' | 'port'>): Sensor => ({
  n,
  id: sid(n),
  name: `s${n}`,
  type: 'electricity',
  enable: true,
  data_type: 'counter',
  rid: 0,
  ...s,
});

test('ct_data golden frame → 6 counters and 12 gauges of clamp port 2, stamped time − 1, three decimals', () => {
  const ct = decodeOne<CtData>(goldenFrame(8, ctDataPayload()));
  const rs = ctDataReadings(ct);
  const ts = T_BOARD - 1;
  const row = (r: (typeof rs)[number]) => [r.kind, r.parameter, r.index, r.value, r.unit, r.flmUnit];
  assert.ok(rs.every((r) => r.ts === ts && r.port === 2 && r.sid === undefined));
  assert.deepEqual(rs.map(row), [
    ['counter', 'pplus', 12, 123456.5, 'Wh', 'Wh'],
    ['counter', 'pminus', 13, 7, 'Wh', 'Wh'],
    ['counter', 'q1', 14, 1000.999, 'varh', 'VARh'],
    ['counter', 'q2', 15, 0, 'varh', 'VARh'],
    ['counter', 'q3', 16, 1, 'varh', 'VARh'],
    ['counter', 'q4', 17, 4294967295.125, 'varh', 'VARh'],
    ['gauge', 'pplus', 12, 2300.5, 'W', 'W'],
    ['gauge', 'pminus', 13, 0, 'W', 'W'],
    ['gauge', 'q1', 14, -0.5, 'var', 'VAR'],
    ['gauge', 'q2', 15, 100.25, 'var', 'VAR'],
    ['gauge', 'q3', 16, 0, 'var', 'VAR'],
    ['gauge', 'q4', 17, -10, 'var', 'VAR'],
    ['gauge', 'vrms', 18, 230.123, 'V', 'V'],
    ['gauge', 'irms', 19, 10, 'A', 'A'],
    ['gauge', 'pf', 20, 0.999, '', ''],
    ['gauge', 'vthd', 21, 0.029, '', ''],
    ['gauge', 'ithd', 22, 1048575.999, '', ''],
    ['gauge', 'alpha', 23, -1048576, '°', '°'],
  ]);
});

test('ct_data readings take their sid from the sensor with that port and subtype (none = pplus)', () => {
  const sensors = [
    sensor(1, { class: 'analog', port: [2], subtype: 'q1' }),
    sensor(2, { class: 'analog', port: [2] }),
    sensor(3, { class: 'analog', port: [1], subtype: 'vrms' }),
    sensor(4, { class: 'analog', port: [2], subtype: 'vrms', enable: false }),
    sensor(5, { class: 'analog', port: [1, 2, 3] }),
  ];
  const rs = ctDataReadings(decodeOne<CtData>(goldenFrame(8, ctDataPayload())), { sensors });
  const bySid = rs.filter((r) => r.sid).map((r) => [r.sid, r.kind, r.parameter]);
  assert.deepEqual(bySid, [
    [sid(2), 'counter', 'pplus'],
    [sid(1), 'counter', 'q1'],
    [sid(2), 'gauge', 'pplus'],
    [sid(1), 'gauge', 'q1'],
  ]);
});

test('ct_data with an invalid board clock, or a port that is no clamp, gives nothing', () => {
  const ct = decodeOne<CtData>(goldenFrame(8, ctDataPayload(0, 1234567891)));
  assert.equal(ctDataReadings(ct).length, 0, 'time − 1 = 1234567890 is not after the threshold');
  assert.equal(ctDataReadings({ ...ct, time: 1234567892 }).length, 18);
  assert.equal(ctDataReadings({ ...ct, time: 0 }).length, 0);
  assert.equal(ctDataReadings({ ...ct, time: 1234567892 }, { validAfter: 2e9 }).length, 0);
  assert.equal(ctDataReadings({ ...ct, time: T_BOARD, port: 3 }).length, 0);
});

test('pulse_data: counter with thousandths, gauge × 3600 for electricity, stamped time, sensor 36 on port 4', () => {
  const p = decodeOne<PulseData>(goldenFrame(9, pulseDataPayload(3, 1024, 98765, 432)));
  assert.deepEqual(pulseDataReadings(p), [
    { port: 4, index: 36, ts: T_BOARD, kind: 'counter', value: 98765.432, unit: 'Wh', flmUnit: 'Wh' },
    { port: 4, index: 36, ts: T_BOARD, kind: 'gauge', value: 1800, unit: 'W', flmUnit: 'W' },
  ]);
});

test('pulse_data units follow the sensor type; the gauge is left out when zero', () => {
  const water = [sensor(7, { class: 'pulse', port: [6], type: 'water', constant: 1 })];
  const p = decodeOne<PulseData>(goldenFrame(9, pulseDataPayload(5, 1024, 5, 0)));
  assert.deepEqual(
    pulseDataReadings(p, { sensors: water }).map((r) => [r.sid, r.index, r.kind, r.value, r.unit]),
    [
      [sid(7), 38, 'counter', 5, 'L'],
      [sid(7), 38, 'gauge', 0.5, 'L/s'],
    ],
  );
  const still = decodeOne<PulseData>(goldenFrame(9, pulseDataPayload(4, 0, 5, 1)));
  assert.deepEqual(
    pulseDataReadings(still, { type: 'gas' }).map((r) => [r.index, r.kind, r.value, r.unit]),
    [[37, 'counter', 5.001, 'L']],
  );
  // −7/2048 Wh/s × 3600 = −12.3046875 W, cut toward zero
  const back = decodeOne<PulseData>(goldenFrame(9, pulseDataPayload(3, -7, 0, 0)));
  assert.equal(pulseDataReadings(back)[1]!.value, -12.304);
  assert.deepEqual(pulseUnits('pellet'), { counter: 'g', gauge: 'g/s', factor: 1 });
  assert.deepEqual(pulseUnits('heat'), { counter: 'Wh', gauge: 'W', factor: 3600 });
  assert.deepEqual(pulseUnits('time'), { counter: 's', gauge: '', factor: 1 });
  assert.deepEqual(pulseUnits('fuel'), { counter: 'L', gauge: 'L/s', factor: 1 });
  assert.deepEqual(pulseUnits('whatever'), { counter: '', gauge: '1/s', factor: 1 });
  assert.equal(pulseDataReadings({ ...p, port: 2 }).length, 0, 'port 3 is a clamp');
  assert.equal(pulseDataReadings({ ...p, time: 5 }).length, 0, 'invalid clock');
});

test('board time: an invalid host clock adopts the board clock as a reference, never stepping it', () => {
  const d = decideBoardTime(T_BOARD, 5_000);
  assert.equal(d.action, 'adopt-board-clock');
  assert.ok(d.action === 'adopt-board-clock');
  assert.equal(d.offsetMs, T_BOARD * 1000 - 5_000);
  assert.deepEqual(d.report, { flm: { time: [5, 0], update: true }, flx: { time: [T_BOARD, 0], update: false } });
});

test('board time: a valid host clock steps a board that is a second or more off, with a time_step frame', () => {
  const d = decideBoardTime(T_BOARD + 1, T_BOARD * 1000);
  assert.ok(d.action === 'step-board');
  assert.equal(d.driftSeconds, 1);
  assert.deepEqual(d.frame, goldenFrame(4, le(T_BOARD, 4)));
  assert.deepEqual(d.report.flx, { time: [T_BOARD + 1, 0], update: true });

  const fresh = decideBoardTime(0, T_BOARD * 1000 + 250);
  assert.ok(fresh.action === 'step-board', 'a board without a clock gets the host time');
  assert.deepEqual(fresh.report.flm, { time: [T_BOARD, 250_000], update: false });

  // board 1.999 s behind
  const behind = decideBoardTime(T_BOARD - 1, T_BOARD * 1000 + 999);
  assert.ok(behind.action === 'step-board');
  assert.equal(behind.driftSeconds, -1);
});

test('board time: less than a second apart, or no valid clock at all, leaves both alone', () => {
  assert.deepEqual(decideBoardTime(T_BOARD, T_BOARD * 1000 + 999).action, 'none');
  assert.deepEqual(decideBoardTime(T_BOARD + 1, T_BOARD * 1000 + 1).action, 'none');
  const none = decideBoardTime(100, 5_000);
  assert.ok(none.action === 'none');
  assert.equal(none.reason, 'no-valid-clock');
});

test('port config from the household sensor table: clamp on 1, pulse constants on 4–6', () => {
  const { config, problems } = portConfigFromSensors(device().sensors, { phase: 3, batch: 16 });
  assert.deepEqual(problems, []);
  assert.deepEqual(
    config.ports.map((p) => [p.enable, p.current, p.constant, p.fraction]),
    [
      [true, 0, 0, 0],
      [false, 0, 0, 0],
      [false, 0, 0, 0],
      [true, 0, 1, 0],
      [true, 0, 10, 0],
      [true, 0, 1, 0],
      [false, 0, 0, 0],
    ],
  );
  assert.deepEqual([config.phase, config.led, config.batch, config.math], [1, 255, 16, 0]);
  const { frame } = portConfigFrame(device().sensors, { phase: 3, batch: 16 });
  const back = new Flm03Decoder().push(frame);
  assert.deepEqual(back, [config]);
});

test('port config: ratings, rounded fractional constants, triggers and shifts; problems named, not thrown', () => {
  const sensors = [
    sensor(1, { class: 'analog', port: [1], current: 250, subtype: 'pplus' }),
    sensor(2, { class: 'analog', port: [1], current: 250, subtype: 'q1' }),
    sensor(3, { class: 'analog', port: [2], current: 500 }),
    sensor(4, { class: 'analog', port: [2], current: 100, subtype: 'vrms' }),
    sensor(5, { class: 'pulse', port: [4], constant: 1.001 }),
    sensor(6, { class: 'pulse', port: [5], constant: 10.01, type: 'gas' }),
    sensor(7, { class: 'pulse', port: [6], constant: 70000 }),
    sensor(8, { class: 'analog', port: [4] }),
    sensor(9, { class: 'pulse', port: [3], constant: 1, enable: false }),
    sensor(10, { class: 'kube', port: [] }),
  ];
  const { config, problems } = portConfigFromSensors(sensors, {
    phase: '3p-n',
    math: 'p2+p1',
    trigger: ['edge', 'edge', 'edge', 'edge', 'level'],
    shift: [0, 7],
  });
  assert.deepEqual(
    config.ports.slice(0, 6).map((p) => [p.enable, p.current, p.constant, p.fraction, p.trigger, p.shift]),
    [
      [true, 2, 0, 0, 0, 0],
      [true, 3, 0, 0, 0, 7],
      [false, 0, 0, 0, 0, 0],
      [true, 0, 1, 1, 0, 0],
      [true, 0, 10, 10, 1, 0],
      [false, 0, 0, 0, 0, 0],
    ],
  );
  assert.deepEqual([config.phase, config.math], [2, 1]);
  assert.equal(problems.length, 3);
  assert.match(problems[0]!, /"s4" disagrees with sensor "s3" on port 2/);
  assert.match(problems[1]!, /70000 exceeds/);
  assert.match(problems[2]!, /port 4 is not an FLM03 analog port/);
});
