import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toFlmReadings, meterIdOf, type FlmP1Reading } from '../../../core/p1/flm-readings';
import { MeterRateGauges } from '../../../core/p1/meter-rate';
import { parseTelegram } from '../../../core/p1/parse';
import { deriveSensorId } from '../../../core/config/identity';
import { fixture, unixOf } from './fixtures';

const DEVICE = '0123456789abcdef0123456789abcdef';
const byKey = (rs: FlmP1Reading[], key: string, kind: 'counter' | 'gauge' = 'counter'): FlmP1Reading | undefined =>
  rs.find((r) => r.key === key && r.kind === kind);
const readings = (text: string, extra: object = {}) =>
  toFlmReadings(parseTelegram(text), { deviceId: DEVICE, ...extra });

test('DSMR 4.2: net counter 1.8.1+1.8.2-2.8.1-2.8.2 in whole Wh, power in W, gas in L at its capture time', () => {
  const rs = readings(fixture('dsmr42-nl-kaifa.txt'));
  const sid = deriveSensorId(DEVICE, '3960221976967177082151037881335713:net');
  const ts = unixOf('2016-11-13T19:57:57Z');
  assert.deepEqual(rs, [
    { key: 'net', type: 'electricity', kind: 'counter', ts, value: 1581123 + 1435706, unit: 'Wh', sid },
    { key: 'net', type: 'electricity', kind: 'gauge', ts, value: 2027, unit: 'W', sid },
    {
      key: 'gas:4819243993373755377509728609491464',
      type: 'gas',
      kind: 'counter',
      ts: unixOf('2016-11-29T19:00:00Z'),
      value: 981443,
      unit: 'L',
      sid: deriveSensorId(DEVICE, '3960221976967177082151037881335713:gas:4819243993373755377509728609491464'),
    },
  ]);
});

test('export: the net counter counts down and the power is negative', () => {
  const base = fixture('dsmr5-nl.txt');
  const before = readings(base);
  // More exported energy and export power instead of import: what a sunny minute later looks like.
  const later = base
    .replace('1-0:2.8.1(000002.444*kWh)', '1-0:2.8.1(000002.944*kWh)')
    .replace('1-0:1.7.0(00.244*kW)', '1-0:1.7.0(00.000*kW)')
    .replace('1-0:2.7.0(00.000*kW)', '1-0:2.7.0(01.250*kW)');
  const after = readings(later);
  assert.equal(byKey(before, 'net')!.value, 4426 + 2399 - 2444);
  assert.equal(byKey(after, 'net')!.value, 4426 + 2399 - 2944);
  assert.ok(byKey(after, 'net')!.value < byKey(before, 'net')!.value);
  assert.equal(byKey(before, 'net', 'gauge')!.value, 244);
  assert.equal(byKey(after, 'net', 'gauge')!.value, -1250);
  // Net sensor ids do not depend on the values.
  assert.equal(byKey(after, 'net')!.sid, byKey(before, 'net')!.sid);
});

test('a meter that exported more than it imported has a negative net counter (E.ON HU, Iskra IE)', () => {
  const hu = readings(fixture('dsmr5-hu-eon.txt'));
  // Four import tariffs and two export tariffs are summed; the totals agree with them.
  assert.equal(byKey(hu, 'net')!.value, 47719 + 125921 - 401829 - 225348);
  assert.equal(byKey(hu, 'net', 'gauge')!.value, -2601);
  const ie = readings(fixture('iskra-ie.txt'));
  assert.equal(byKey(ie, 'net')!.value, 10181 + 10182 - 10281 - 10282);
  assert.equal(byKey(ie, 'net', 'gauge')!.value, 170 - 270);
});

test('units are honoured: Wh/W (Sagemcom), W and long kWh decimals (Q3D), totals when there are no tariffs (Smarty)', () => {
  const at = readings(fixture('dsmr5-at-sagemcom-t210dr.txt'));
  assert.equal(byKey(at, 'net')!.value, 5017120 + 1528646 - 0 - 58);
  assert.equal(byKey(at, 'net', 'gauge')!.value, 286);
  const q3d = readings(fixture('q3d-easymeter.txt'), { receivedAt: 1_700_000_000 });
  assert.equal(byKey(q3d, 'net')!.value, 52185783 - 19949322);
  assert.equal(byKey(q3d, 'net', 'gauge')!.value, 2125);
  assert.equal(byKey(q3d, 'net')!.ts, 1_700_000_000, 'no timestamp in the telegram: the arrival time');
  const lu = readings(fixture('smarty-lu.txt'));
  assert.equal(byKey(lu, 'net')!.value, 6695 - 25);
  assert.equal(byKey(lu, 'net')!.sid, deriveSensorId(DEVICE, 'SAG1030700114004:net'));
});

test('Belgium: gas from 24.2.3 and water from 24.2.1, each at its own capture time', () => {
  const rs = readings(fixture('dsmr5-be-fluvius-alt.txt'));
  assert.deepEqual(byKey(rs, 'gas:7FLO2123088027'), {
    key: 'gas:7FLO2123088027',
    type: 'gas',
    kind: 'counter',
    ts: unixOf('2023-11-02T11:10:02Z'),
    value: 92287,
    unit: 'L',
    sid: deriveSensorId(DEVICE, '1SAG3100721326:gas:7FLO2123088027'),
  });
  const water = byKey(rs, 'water:8SET0000961173')!;
  assert.equal(water.type, 'water');
  assert.equal(water.value, 8579);
  assert.equal(water.ts, unixOf('2023-11-02T11:15:32Z'));
  assert.equal(byKey(rs, 'net')!.value, 301548 + 270014 - 5);
});

test('dead M-Bus slots give no reading; DSMR 2.2 gas comes from the profile', () => {
  const two = readings(fixture('dsmr5-nl-two-mbus.txt'));
  assert.deepEqual(
    two.filter((r) => r.type === 'gas').map((r) => [r.key, r.value, r.ts]),
    [['gas:G0039001936990619', 246138, unixOf('2020-04-26T20:30:01Z')]],
  );
  const spec = readings(fixture('smarty-lu-spec-example.txt'));
  assert.deepEqual(
    spec.filter((r) => r.type !== 'electricity').map((r) => r.key),
    ['gas:FLO189900060355', 'gas:ELS353589980300'],
  );
  const v22 = readings(fixture('dsmr22-nl.txt'), { receivedAt: 1_600_000_000 });
  const gas = v22.find((r) => r.type === 'gas')!;
  assert.equal(gas.value, 1001);
  assert.equal(gas.ts, unixOf('2016-11-07T18:00:00Z'));
});

test('heat meters count Wh', () => {
  const rs = readings(fixture('dsmr5-nl-heat-unpadded-crc.txt'));
  assert.deepEqual(
    rs.map((r) => [r.key, r.type, r.value, r.unit]),
    [['heat:621848012D2C0B0C', 'heat', Math.round((240.86 * 1e9) / 3600), 'Wh']],
  );
});

test('opt-in sensors: directions, tariffs, phases, capacity', () => {
  const t = parseTelegram(fixture('dsmr5-be-fluvius.txt'));
  assert.equal(toFlmReadings(t, { deviceId: DEVICE }).length, 2 + 2);
  const rs = toFlmReadings(t, { deviceId: DEVICE, directions: true, tariffs: true, phases: true, capacity: true });
  const v = (key: string, kind: 'counter' | 'gauge' = 'counter') => byKey(rs, key, kind)?.value;
  assert.equal(v('delivered'), 34 + 15758);
  assert.equal(v('returned'), 11);
  assert.equal(v('delivered', 'gauge'), 0);
  assert.equal(v('delivered:t1'), 34);
  assert.equal(v('delivered:t2'), 15758);
  assert.equal(v('returned:t2'), 11);
  assert.equal(v('delivered:t3'), undefined, 'no register, no reading');
  assert.equal(v('l1', 'gauge'), 0);
  assert.equal(v('capacity:demand', 'gauge'), 2351);
  assert.equal(v('capacity:peak', 'gauge'), 2589);
  const ids = new Set(rs.map((r) => `${r.sid}/${r.kind}`));
  assert.equal(ids.size, rs.length, 'one counter and one gauge per sensor at most');
  const kaifa = toFlmReadings(parseTelegram(fixture('dsmr42-nl-kaifa.txt')), { deviceId: DEVICE, phases: true });
  assert.deepEqual(
    ['l1', 'l2', 'l3'].map((k) => byKey(kaifa, k, 'gauge')!.value),
    [170, 1247, 209],
  );
});

test('sensor ids are stable and per device', () => {
  const text = fixture('dsmr5-nl.txt');
  const a = readings(text);
  const b = readings(text);
  assert.deepEqual(
    a.map((r) => r.sid),
    b.map((r) => r.sid),
  );
  const other = toFlmReadings(parseTelegram(text), { deviceId: 'f'.repeat(32) });
  assert.notEqual(other[0]!.sid, a[0]!.sid);
  assert.equal(meterIdOf(parseTelegram(text)), 'K8EG004046395507');
  assert.match(a[0]!.sid, /^[0-9a-f]{32}$/);
});

test('MeterRateGauges: L/day from gas counter deltas between captures', () => {
  const gauges = new MeterRateGauges();
  const kaifa = fixture('dsmr42-nl-kaifa.txt');
  const first = readings(kaifa);
  assert.deepEqual(gauges.update(first), [], 'the first capture gives no gauge');
  assert.deepEqual(gauges.update(first), [], 'the same capture repeated gives none either');
  const hourLater = readings(kaifa.replace('(161129200000W)(00981.443*m3)', '(161129210000W)(00981.943*m3)'));
  const [g] = gauges.update(hourLater);
  assert.deepEqual(g, {
    ...byKey(hourLater, 'gas:4819243993373755377509728609491464')!,
    kind: 'gauge',
    value: 12000,
    unit: 'L/day',
  });
  const idle = readings(kaifa.replace('(161129200000W)(00981.443*m3)', '(161129220000W)(00981.943*m3)'));
  assert.equal(gauges.update(idle)[0]!.value, 0);
  const replaced = readings(kaifa.replace('(161129200000W)(00981.443*m3)', '(161129230000W)(00000.010*m3)'));
  assert.deepEqual(gauges.update(replaced), [], 'a counter that went back restarts');
});
