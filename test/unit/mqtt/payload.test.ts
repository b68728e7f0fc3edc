import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeReading, decodeReading, round3 } from '../../../core/mqtt/payload';
import { sensorTopic, parseSensorTopic, deviceConfigTopic } from '../../../core/mqtt/topics';
import { buildDeviceConfig } from '../../../core/mqtt/device-config';
import { device, sid, DEVICE_ID } from '../../support/device';

test('payloads are exactly in FLM form: compact, integers without a decimal point', () => {
  assert.equal(encodeReading(1459065180, 157, 'W'), '[1459065180,157,"W"]');
  assert.equal(encodeReading(1449999999, 123456, 'Wh'), '[1449999999,123456,"Wh"]');
  assert.equal(encodeReading(1449999999, 5012.5, 'L'), '[1449999999,5012.5,"L"]');
  assert.equal(encodeReading(1449999999, -320, 'W'), '[1449999999,-320,"W"]');
  assert.equal(encodeReading(1449999999, 0.1 + 0.2, 'Wh'), '[1449999999,0.3,"Wh"]');
  assert.equal(encodeReading(1449999999, 2.0004, 'Wh'), '[1449999999,2,"Wh"]');
  assert.equal(encodeReading(1449999999, -0.0001, 'W'), '[1449999999,0,"W"]');
  assert.equal(encodeReading(1, 1, 'L/day'), '[1,1,"L/day"]');
});

test('round3 rounds half away from zero', () => {
  assert.equal(round3(1.0005), 1.001);
  assert.equal(round3(-1.0005), -1.001);
  assert.equal(round3(12345678.9994), 12345678.999);
});

test('encodeReading refuses what the FLM could never publish', () => {
  assert.throws(() => encodeReading(1.5, 1, 'W'), /whole Unix seconds/);
  assert.throws(() => encodeReading(1, NaN, 'W'), /finite/);
  assert.throws(() => encodeReading(1, Infinity, 'W'), /finite/);
});

test('decodeReading round-trips and rejects other shapes with a clear message', () => {
  assert.deepEqual(decodeReading('[1459065180,157,"W"]'), [1459065180, 157, 'W']);
  assert.deepEqual(decodeReading(Buffer.from('[1,2.5,"L"]')), [1, 2.5, 'L']);
  assert.throws(() => decodeReading('157'), /must be \[ts,value,"unit"\]/);
  assert.throws(() => decodeReading('[1,"2","W"]'), /must be \[ts,value,"unit"\]/);
  assert.throws(() => decodeReading('[1.5,2,"W"]'), /must be \[ts,value,"unit"\]/);
  assert.throws(() => decodeReading('not json'), /not JSON/);
});

test('topics are built and parsed in one place', () => {
  assert.equal(sensorTopic(sid(1), 'gauge'), `/sensor/${sid(1)}/gauge`);
  assert.deepEqual(parseSensorTopic(`/sensor/${sid(1)}/counter`), { sid: sid(1), kind: 'counter' });
  assert.equal(parseSensorTopic(`/sensor/${sid(1)}/tmpo/0/8/0/gz`), null);
  assert.equal(parseSensorTopic('/sensor/ABC/gauge'), null);
  assert.equal(deviceConfigTopic(DEVICE_ID), `/device/${DEVICE_ID}/config/sensor`);
});

test('the sensor table is published in the FLM config shape, ids kept as strings', () => {
  const digits = '12345678901234567890123456789012';
  const d = device(
    [
      {
        n: 1,
        id: digits,
        name: 'main',
        type: 'electricity',
        class: 'analog',
        port: [1, 2, 3],
        voltage: 230,
        current: 100,
      },
      { n: 4, name: 'water', type: 'water', class: 'pulse', port: [4], constant: 0.5, enable: false },
    ],
    { phase: 3 },
  );
  const cfg = buildDeviceConfig(d);
  assert.deepEqual(Object.keys(cfg).sort(), ['1', '4', 'main']);
  assert.deepEqual(cfg.main, { phase: 3, max_provisioned_sensors: 2 });
  assert.deepEqual(cfg['1'], {
    id: digits,
    type: 'electricity',
    function: 'main',
    class: 'analog',
    enable: 1,
    port: [1, 2, 3],
    voltage: 230,
    current: 100,
    data_type: 'counter',
    rid: 0,
  });
  assert.equal(typeof cfg['1']!.id, 'string');
  assert.deepEqual(cfg['4'], {
    id: d.sensors[1]!.id,
    type: 'water',
    function: 'water',
    class: 'pulse',
    enable: 0,
    port: [4],
    constant: 0.5,
    data_type: 'counter',
    rid: 0,
  });
});
