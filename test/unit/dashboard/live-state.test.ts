import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveState } from '../../../core/dashboard/live-state';
import { sensorRole } from '../../../core/dashboard/roles';

const SID = 'c1411c6b4f9910bbbab09f145f8533b9';
const SID2 = 'fed676021dacaaf6a12a8dda7685be34';

test('roles: P1 net by sign, registers by direction, solar as production, gas and water', () => {
  assert.equal(sensorRole({ name: 'grid', type: 'electricity' }), 'net');
  assert.equal(sensorRole({ name: 'grid import t1', type: 'electricity' }), 'import');
  assert.equal(sensorRole({ name: 'grid export', type: 'electricity' }), 'export');
  assert.equal(sensorRole({ name: 'whatever', type: 'electricity', p1: 'returned:t2' }), 'export');
  assert.equal(sensorRole({ name: 'whatever', type: 'electricity', p1: 'delivered' }), 'import');
  assert.equal(sensorRole({ name: 'solar', type: 'electricity' }), 'production');
  assert.equal(sensorRole({ name: 'PV roof', type: 'electricity' }), 'production');
  assert.equal(sensorRole({ name: 'main', type: 'electricity' }), 'consumption');
  assert.equal(sensorRole({ name: 'gridiron', type: 'electricity' }), 'consumption');
  assert.equal(sensorRole({ name: 'gas', type: 'gas' }), 'gas');
  assert.equal(sensorRole({ name: 'tap', type: 'water' }), 'water');
  assert.equal(sensorRole({ name: 'attic', type: 'temperature' }), 'other');
});

test('readings: the latest per sensor and kind, described by msg.flm, the first counter kept', () => {
  const s = new LiveState();
  s.setSensors([{ id: SID, name: 'main', type: 'electricity' }]);
  const c = s.handle(`/sensor/${SID}/gauge`, [1700000000, 250, 'W'], { name: 'main', type: 'electricity' });
  assert.deepEqual(c, [{ event: 'reading', data: { sid: SID, kind: 'gauge', ts: 1700000000, value: 250, unit: 'W' } }]);
  s.handle(`/sensor/${SID}/counter`, [1700000000, 1000, 'Wh'], undefined);
  s.handle(`/sensor/${SID}/counter`, [1700000060, 1004, 'Wh'], undefined);
  s.handle(`/sensor/${SID}/gauge`, [1700000001, 260, 'W'], undefined);
  const main = s.snapshot().sensors.find((x) => x.sid === SID)!;
  assert.deepEqual(main.gauge, { ts: 1700000001, value: 260, unit: 'W' });
  assert.deepEqual(main.counter, { ts: 1700000060, value: 1004, unit: 'Wh' });
  assert.deepEqual(main.firstCounter, { ts: 1700000000, value: 1000, unit: 'Wh' });
  assert.equal(main.role, 'consumption');
  // A sensor not in the table, described by its reading (flm-in): announced, then its reading.
  const news = s.handle(`/sensor/${SID2}/gauge`, [1700000000, -300, 'W'], { name: 'grid', type: 'electricity' });
  assert.deepEqual(
    news.map((x) => x.event),
    ['sensors', 'reading'],
  );
  assert.equal(s.snapshot().sensors.find((x) => x.sid === SID2)!.role, 'net');
});

test('the sensor table from the wire; a bad reading throws; other topics are ignored', () => {
  const s = new LiveState();
  const c = s.handle('/device/0123456789abcdef0123456789abcdef/config/sensor', {
    '1': { id: SID, function: 'solar', type: 'electricity', class: 'pulse', enable: 1, data_type: 'counter', rid: 0 },
  });
  assert.equal(c[0]!.event, 'sensors');
  assert.equal(s.snapshot().sensors[0]!.role, 'production');
  assert.throws(() => s.handle(`/sensor/${SID}/gauge`, 'nonsense'), /payload must be/);
  assert.deepEqual(s.handle('p1/availability', 'online'), []);
});

test('FLM03 board batches: per-port power, voltage, current and power factor', () => {
  const s = new LiveState();
  const c = s.handle('board/batch', {
    time: 1700000000500,
    records: [
      { kind: 'gauge', port: 1, subtype: 'pplus', value: 1200 },
      { kind: 'gauge', port: 1, subtype: 'vrms', value: 231.2 },
      { kind: 'gauge', port: 1, subtype: 'irms', value: 5.3 },
      { kind: 'gauge', port: 1, subtype: 'pf', value: 0.98 },
      { kind: 'counter', port: 1, subtype: 'pplus', value: 5 },
      { kind: 'analog', port: 2, power: 100 },
    ],
  });
  assert.deepEqual(c, [
    {
      event: 'port',
      data: { port: 1, ts: 1700000000, values: { pplus: 1200, vrms: 231.2, irms: 5.3, pf: 0.98 } },
    },
  ]);
  assert.deepEqual(s.snapshot().ports.length, 1);
  assert.throws(() => s.handle('board/batch', { time: 'x' }));
});
