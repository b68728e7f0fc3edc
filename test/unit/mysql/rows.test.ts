import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  readingRow,
  sensorFromFlm,
  sensorsOfDevice,
  sensorsOfConfig,
  mergeSensor,
  sameSensor,
} from '../../../core/sinks/mysql';
import { buildDeviceConfig } from '../../../core/mqtt/device-config';
import { device, sid, DEVICE_ID } from '../../support/device';

test('a reading message becomes a row; anything else says why not', () => {
  assert.deepEqual(readingRow(`/sensor/${sid(1)}/gauge`, [1750000000, 231.5, 'W']), {
    sid: sid(1),
    kind: 'gauge',
    ts: 1750000000,
    value: 231.5,
  });
  assert.deepEqual(readingRow(`/sensor/${sid(2)}/counter`, [1750000000, -12]), {
    sid: sid(2),
    kind: 'counter',
    ts: 1750000000,
    value: -12,
  });
  const bad: Array<[string, unknown, RegExp]> = [
    ['/sensor/xyz/gauge', [1, 2, 'W'], /not a reading topic/],
    [`/sensor/${sid(1)}/tmpo/0/8/0/gz`, [1, 2], /not a reading topic/],
    [`/sensor/${sid(1)}/gauge`, { ts: 1 }, /payload must be/],
    [`/sensor/${sid(1)}/gauge`, [1750000000.5, 1, 'W'], /whole Unix seconds/],
    [`/sensor/${sid(1)}/gauge`, [2 ** 32, 1, 'W'], /whole Unix seconds/],
    [`/sensor/${sid(1)}/gauge`, ['1750000000', 1, 'W'], /whole Unix seconds/],
    [`/sensor/${sid(1)}/gauge`, [1750000000, NaN, 'W'], /finite number/],
    [`/sensor/${sid(1)}/gauge`, [1750000000, null, 'W'], /finite number/],
  ];
  for (const [topic, payload, why] of bad) {
    const r = readingRow(topic, payload);
    assert.ok('error' in r && why.test(r.error), `${topic} ${JSON.stringify(payload)}: ${JSON.stringify(r)}`);
  }
});

test('sensors come from the device table, from a published sensor table, and from msg.flm, merged field by field', () => {
  const dev = device();
  const fromDevice = sensorsOfDevice(dev);
  assert.equal(fromDevice.length, 4);
  assert.deepEqual(fromDevice[0], {
    sid: sid(1),
    deviceId: DEVICE_ID,
    name: 'main',
    type: 'electricity',
    subtype: null,
    class: 'analog',
    counterUnit: 'Wh',
    gaugeUnit: 'W',
  });
  assert.equal(fromDevice[2]!.gaugeUnit, 'L/day');

  // The table as flm-sensor publishes it (and an FLM does) names the same sensors.
  const fromConfig = sensorsOfConfig(DEVICE_ID, buildDeviceConfig(dev));
  assert.deepEqual(fromConfig, fromDevice);
  assert.deepEqual(
    sensorsOfConfig(DEVICE_ID, JSON.stringify(buildDeviceConfig(dev))),
    fromDevice,
    'a JSON string (from an MQTT in node) too',
  );
  assert.deepEqual(sensorsOfConfig(DEVICE_ID, 'not json'), []);
  assert.deepEqual(sensorsOfConfig(DEVICE_ID, { main: { phase: 1 }, 1: { id: 'bad' } }), []);

  const flm = sensorFromFlm(sid(9), 'gauge', {
    sid: sid(9),
    kind: 'gauge',
    name: 'boiler',
    type: 'electricity',
    unit: 'W',
    deviceId: DEVICE_ID,
  });
  assert.deepEqual(flm, {
    sid: sid(9),
    deviceId: DEVICE_ID,
    name: 'boiler',
    type: 'electricity',
    subtype: null,
    class: null,
    counterUnit: null,
    gaugeUnit: 'W',
  });
  assert.equal(
    sensorFromFlm(sid(9), 'counter', { class: 'pulse', unit: 'Wh' }).class,
    'pulse',
    'the class msg.flm names',
  );
  assert.equal(
    sensorFromFlm(sid(9), 'counter', undefined, 'Wh').counterUnit,
    'Wh',
    'the payload unit when msg.flm has none',
  );

  const merged = mergeSensor(flm, sensorFromFlm(sid(9), 'counter', { unit: 'Wh' }));
  assert.equal(merged.gaugeUnit, 'W');
  assert.equal(merged.counterUnit, 'Wh');
  assert.equal(merged.name, 'boiler', 'a source that does not know a field keeps what another wrote');
  assert.ok(sameSensor(merged, mergeSensor(merged, flm)));
  assert.ok(!sameSensor(flm, merged));
});
