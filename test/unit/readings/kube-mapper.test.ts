import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDevice } from '../../../core/config/device';
import { buildDeviceConfig } from '../../../core/mqtt/device-config';
import { decodeKubeAuto } from '../../../core/flx/kube';
import { KubeReadingMapper, kubeMessageSchema, describeControl } from '../../../core/readings/kube-mapper';
import { DEVICE_ID, DEVICE_KEY } from '../../support/device';

/** FLK01A by hand: temperature 0x6666 → 23.44 °C, humidity 0x8000 → 56.5 %, battery 10 → 2.5 V, error 0 */
const FLK01A = Uint8Array.of(0x66, 0x66, 0x00, 0x80, 10, 0);
/** FLK01B by hand: 101325 Pa, humidity 1835 → 50 %, 400 lx, temperature 6373 → 21.5 °C, battery 5 → 26.93·13.5^−0.985 = 2.07 → 2.1 V, error 0b0100001 */
const FLK01B = Uint8Array.of(0x34, 0x2f, 0xb6, 0x72, 0x40, 0x06, 0xe5, 0x58, 0x43);
const NOW = 1_700_000_000;

const kube = (n: number, kid: number, type: string, extra: Record<string, unknown> = {}) =>
  ({
    n,
    name: `kube${kid}-${type}`,
    type,
    class: 'kube',
    kid,
    ...extra,
  }) as never;

const device = (sensors: unknown[]) => parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors: sensors as never });

test('a kube sensor takes its data_type from the registry, needs a kid, and reports a Kube field', () => {
  const d = device([kube(7, 3, 'temperature'), kube(8, 3, 'movement'), kube(9, 4, 'pressure', { data_type: 'gauge' })]);
  assert.deepEqual(
    d.sensors.map((s) => [s.type, s.kid, s.data_type]),
    [
      ['temperature', 3, 'gauge'],
      ['movement', 3, 'counter'],
      ['pressure', 4, 'gauge'],
    ],
  );
  // the published table names the Kube, as the FLM's uci does
  assert.equal(buildDeviceConfig(d)['7']!.kid, 3);
  assert.equal(buildDeviceConfig(d)['7']!.data_type, 'gauge');

  assert.throws(() => device([{ n: 7, name: 't', type: 'temperature', class: 'kube' }]), /kid.*node id/);
  assert.throws(() => device([kube(7, 31, 'temperature')]), /kid/);
  assert.throws(() => device([kube(7, 3, 'electricity')]), /type is the field it reports/);
  assert.throws(
    () => device([kube(7, 3, 'temperature', { data_type: 'counter' })]),
    /Kube temperature is stored as a gauge/,
  );
  assert.throws(
    () => device([{ n: 1, name: 'm', type: 'electricity', class: 'pulse', port: [4], constant: 1, kid: 2 }]),
    /only a kube sensor/,
  );
  assert.throws(() => device([kube(7, 3, 'humidity'), kube(8, 3, 'humidity')]), /humidity of Kube 3 goes to both/);
  // a disabled duplicate is fine (a sensor kept for its history)
  assert.equal(device([kube(7, 3, 'humidity'), kube(8, 3, 'humidity', { enable: false })]).sensors.length, 2);
  // other classes keep the counter default
  assert.equal(
    device([{ n: 1, name: 'm', type: 'electricity', class: 'pulse', port: [4], constant: 1 }]).sensors[0]!.data_type,
    'counter',
  );
});

test('the format is chosen by length: FLK01A, FLK01B, movement and vibration need no model', () => {
  assert.deepEqual(decodeKubeAuto(FLK01A), {
    ok: true,
    fields: [
      { field: 'temperature', value: 23.44, unit: '°C', data_type: 'gauge' },
      { field: 'humidity', value: 56.5, unit: '%', data_type: 'gauge' },
      { field: 'battery', value: 2.5, unit: 'V', data_type: 'gauge' },
      { field: 'error', value: 0, unit: '', data_type: 'gauge' },
    ],
  });
  const b = decodeKubeAuto(FLK01B);
  assert.ok(b.ok);
  assert.deepEqual(
    b.fields.map((f) => [f.field, f.value]),
    [
      ['temperature', 21.5],
      ['humidity', 50],
      ['battery', 2.1],
      ['pressure', 101325],
      ['light', 400],
      ['error', 33],
    ],
  );
  assert.deepEqual(decodeKubeAuto(Uint8Array.of(4, 3, 2, 1)), {
    ok: true,
    fields: [{ field: 'movement', value: 0x01020304, unit: '', data_type: 'counter' }],
  });
  assert.deepEqual(decodeKubeAuto(Uint8Array.of(0x10, 0x01)), {
    ok: true,
    fields: [{ field: 'vibration', value: 272, unit: '', data_type: 'counter' }],
  });
  for (const n of [0, 1, 3, 5, 7, 8, 10, 66]) {
    const r = decodeKubeAuto(new Uint8Array(n));
    assert.ok(!r.ok && /no Kube format is \d+ bytes long/.test(r.reason), `${n} bytes`);
  }
});

test('fields go to the sensors of that kid as gauges or counters, stamped on arrival; the rest is reported', () => {
  const d = device([
    kube(7, 3, 'temperature'),
    kube(8, 3, 'humidity'),
    kube(9, 3, 'movement'),
    kube(10, 4, 'temperature'),
    kube(11, 3, 'battery', { enable: false }),
  ]);
  const m = new KubeReadingMapper(d);
  const r = m.process({ nid: 3, kind: 'data', ack: true, payload: FLK01A }, NOW);
  assert.deepEqual(
    r.readings.map((x) => [x.sid, x.kind, x.ts, x.value, x.unit]),
    [
      [d.sensors[0]!.id, 'gauge', NOW, 23.44, '°C'],
      [d.sensors[1]!.id, 'gauge', NOW, 56.5, '%'],
    ],
  );
  assert.equal(r.qos, 1, 'a packet that asked for an ACK is published with QoS 1, as kubed does');
  assert.deepEqual(
    r.unclaimed.map((f) => f.field),
    ['battery', 'error'],
    'a disabled sensor takes nothing',
  );

  const mv = m.process({ nid: 3, kind: 'data', ack: false, payload: Uint8Array.of(7, 0, 0, 0) }, NOW);
  assert.deepEqual(
    mv.readings.map((x) => [x.sid, x.kind, x.value]),
    [[d.sensors[2]!.id, 'counter', 7]],
  );
  assert.equal(mv.qos, 0);
  // the same count again is not a new counter reading; a gauge twice in one second is one reading
  assert.equal(
    m.process({ nid: 3, kind: 'data', ack: false, payload: Uint8Array.of(7, 0, 0, 0) }, NOW + 60).readings.length,
    0,
  );
  assert.equal(m.process({ nid: 3, kind: 'data', ack: false, payload: FLK01A }, NOW).readings.length, 0);

  // another Kube's temperature goes to its own sensor; an unknown Kube gives nothing but its fields
  assert.deepEqual(
    m.process({ nid: 4, kind: 'data', ack: false, payload: FLK01B }, NOW).readings.map((x) => [x.sid, x.value]),
    [[d.sensors[3]!.id, 21.5]],
  );
  const unknown = m.process({ nid: 9, kind: 'data', ack: false, payload: FLK01B }, NOW);
  assert.equal(unknown.readings.length, 0);
  assert.equal(unknown.unclaimed.length, 6);
  assert.equal(m.knows(9), false);
  assert.equal(m.knows(3), true);
});

test('nothing goes out with an invalid clock, a control packet carries no reading, a bad length says why', () => {
  const d = device([kube(7, 3, 'temperature')]);
  const m = new KubeReadingMapper(d);
  const held = m.process({ nid: 3, kind: 'data', ack: false, payload: FLK01A }, 1_000_000);
  assert.deepEqual([held.heldBack, held.readings.length], [true, 0]);
  assert.equal(m.process({ nid: 3, kind: 'control', ack: true, payload: FLK01A }, NOW).readings.length, 0);
  assert.match(
    m.process({ nid: 3, kind: 'data', ack: false, payload: new Uint8Array(5) }, NOW).problem ?? '',
    /no Kube format is 5 bytes long/,
  );

  const pair = new Uint8Array(22);
  pair.set([0x12, 0x4b, 212, 3, 0, 0]);
  pair.fill(0xab, 6);
  assert.equal(describeControl(pair), `to pair (hw_type 19218, hw_id ${'ab'.repeat(16)})`);
});

test('board/kube messages: hex or bytes, checked at the edge', () => {
  const hex = kubeMessageSchema.parse({ group: 212, nid: 3, kind: 'data', ack: false, payload: '6666008' + '00a00' });
  assert.deepEqual(hex.payload, FLK01A);
  assert.deepEqual(kubeMessageSchema.parse({ nid: 3, payload: Buffer.from(FLK01A) }).payload, FLK01A);
  assert.equal(kubeMessageSchema.parse({ nid: 3, payload: '' }).kind, 'data');
  for (const bad of [
    { nid: 32, payload: '' },
    { nid: 3, payload: 'abc' },
    { nid: 3, payload: 'zz' },
    { nid: 3, payload: '00'.repeat(67) },
    { nid: 3, payload: '', extra: 1 },
    { nid: 3, kind: 'pair', payload: '' },
  ]) {
    assert.equal(kubeMessageSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
