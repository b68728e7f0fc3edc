import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLooseReading } from '../../../core/mqtt/payload';
import { buildDeviceConfig, parseDeviceConfig } from '../../../core/mqtt/device-config';
import { ReadingImporter } from '../../../core/mqtt/importer';
import { parseDeviceConfigTopic, deviceConfigTopic } from '../../../core/mqtt/topics';
import { validateFlmSensorConfig } from '../../../core/config/wire';
import { ManualClock } from '../../support/clock';
import { device, sid, DEVICE_ID } from '../../support/device';
import { flm02Config } from '../../support/flm-config';

const NOW = 1_750_000_000;

test('the loose payload forms FLM users publish; anything else is a clear error', () => {
  assert.deepEqual(decodeLooseReading('[1459065180,157,"W"]', NOW), { ts: 1459065180, value: 157, unit: 'W' });
  assert.deepEqual(
    decodeLooseReading('[1459065180, 157.5, "W"]', NOW),
    { ts: 1459065180, value: 157.5, unit: 'W' },
    "FLM03's spaces",
  );
  assert.deepEqual(decodeLooseReading('157', NOW), { ts: NOW, value: 157 });
  assert.deepEqual(decodeLooseReading(' -3.5 ', NOW), { ts: NOW, value: -3.5 });
  assert.deepEqual(decodeLooseReading(Buffer.from('[42]'), NOW), { ts: NOW, value: 42 });
  assert.deepEqual(decodeLooseReading('[42,"L"]', NOW), { ts: NOW, value: 42, unit: 'L' });
  const forms = /must be v, \[v\], \[v,"unit"\] or \[ts,v,"unit"\]/;
  for (const bad of [
    '',
    'hello',
    '"157"',
    '[]',
    '["157"]',
    '[1,2,3]',
    '[1,2,"W",4]',
    '{"v":1}',
    'null',
    'true',
    '[1,"W"',
    '[1.5,2,"W"]',
    '[-1,2,"W"]',
    '[1,null,"W"]',
  ]) {
    assert.throws(() => decodeLooseReading(bad, NOW), forms, JSON.stringify(bad));
  }
  assert.throws(() => decodeLooseReading('[1.5,2,"W"]', NOW), /whole Unix seconds/);
});

test('a real FLM02 config: sections read, quirks survived, unusable ones named', () => {
  const cfg = flm02Config();
  assert.ok(validateFlmSensorConfig(cfg));
  const { sensors, skipped } = parseDeviceConfig(cfg as never);
  assert.deepEqual(
    sensors.map((s) => [s.id, s.name, s.type, s.enable, s.dataType]),
    [
      [sid(1), 'main', 'electricity', true, 'counter'],
      [sid(2), 'solar', 'electricity', true, 'counter'],
      [sid(3), 'gas', 'gas', true, 'counter'],
      ['0123456789abcdef0123456789abcde4', 'sensor 4', 'water', false, 'counter'],
      [sid(7), '123', 'electricity', true, 'counter'],
      [sid(9), 'phase1', 'electricity', true, 'gauge'],
    ],
  );
  assert.equal(sensors[5]!.subtype, 'pplus');
  assert.equal(skipped.length, 1);
  assert.match(skipped[0]!, /sensor 6: its id was published as a number/);
});

test('our own config topic reads back to the same sensors', () => {
  const d = device();
  const json = JSON.parse(JSON.stringify(buildDeviceConfig(d)));
  assert.ok(validateFlmSensorConfig(json));
  const back = parseDeviceConfig(json).sensors;
  assert.deepEqual(
    back.map((s) => [s.id, s.name, s.type, s.class, s.enable]),
    d.sensors.map((s) => [s.id, s.name, s.type, s.class, s.enable]),
  );
});

test('the schema refuses what is not a sensor table', () => {
  for (const bad of [
    [],
    'x',
    1,
    { 1: 'x' },
    { 1: { id: sid(1), enable: 2 } },
    { 1: { id: sid(1), type: 5 } },
    { main: 3 },
    { 1: { id: sid(1), rid: -1 } },
  ]) {
    assert.equal(validateFlmSensorConfig(bad), false, JSON.stringify(bad));
  }
  assert.equal(parseDeviceConfigTopic(deviceConfigTopic(DEVICE_ID)), DEVICE_ID);
  assert.equal(parseDeviceConfigTopic(`/device/${DEVICE_ID}/config/kube`), null);
});

test('importer: names from the config, units filled in, other devices told apart', () => {
  const clock = new ManualClock(NOW * 1000);
  const imp = new ReadingImporter({ clock, graceMs: 5000 });
  imp.connected();
  const c = imp.config(deviceConfigTopic(DEVICE_ID), JSON.stringify(flm02Config()));
  assert.equal(c.sensors, 6);
  assert.equal(c.message!.topic, `/device/${DEVICE_ID}/config/sensor`);
  assert.equal(c.message!.retain, true);
  const out = (topic: string, payload: string) => {
    const r = imp.reading(topic, payload, false);
    assert.equal(r.kind, 'out');
    return (r as { message: any }).message;
  };
  assert.deepEqual(out(`/sensor/${sid(1)}/gauge`, '[1459065180,157,"W"]'), {
    topic: `/sensor/${sid(1)}/gauge`,
    payload: [1459065180, 157, 'W'],
    retain: true,
    qos: 0,
    flm: {
      sid: sid(1),
      kind: 'gauge',
      unit: 'W',
      name: 'main',
      type: 'electricity',
      class: 'analog',
      deviceId: DEVICE_ID,
    },
  });
  assert.deepEqual(out(`/sensor/${sid(3)}/counter`, '1234').payload, [NOW, 1234, 'L'], 'unit from the type, time now');
  assert.deepEqual(out(`/sensor/${sid(3)}/gauge`, '[12.5]').payload, [NOW, 12.5, 'L/day']);
  assert.deepEqual(out(`/sensor/${sid(9)}/counter`, '[99,"Wh"]').flm.subtype, 'pplus');
  // A second FLM on the same broker.
  const other = 'fedcba9876543210fedcba9876543210';
  imp.config(
    deviceConfigTopic(other),
    JSON.stringify({ 1: { id: sid(20), type: 'water', function: 'garden', enable: 1 } }),
  );
  assert.equal(out(`/sensor/${sid(20)}/counter`, '5').flm.deviceId, other);
  assert.equal(imp.deviceCount, 2);
  // A new config replaces that device's table; clearing it forgets the device.
  imp.config(deviceConfigTopic(other), '');
  assert.equal(imp.deviceCount, 1);
  assert.throws(
    () => imp.config(deviceConfigTopic(DEVICE_ID), '{"1":{"id":"x","enable":7}}'),
    /not an FLM sensor table: \/1\/enable/,
  );
  assert.throws(() => imp.config(deviceConfigTopic(DEVICE_ID), 'nope'), /not JSON/);
  assert.throws(() => imp.reading(`/sensor/${sid(1)}/gauge`, '{"a":1}', false), /must be v, \[v\]/);
  assert.throws(() => imp.reading('/sensor/abc/gauge', '1', false), /not a reading topic/);
});

test('importer: unknown sensors wait for their config during the grace period, then pass with what is known', () => {
  const clock = new ManualClock(NOW * 1000);
  const imp = new ReadingImporter({ clock, graceMs: 5000 });
  const ends = imp.connected();
  assert.equal(ends, NOW * 1000 + 5000);
  // Readings before the config: held, newest per sensor and kind.
  assert.deepEqual(imp.reading(`/sensor/${sid(1)}/gauge`, '[1,100,"W"]', false), { kind: 'held' });
  assert.deepEqual(imp.reading(`/sensor/${sid(1)}/gauge`, '[2,200,"W"]', false), { kind: 'held' });
  assert.deepEqual(imp.reading(`/sensor/${sid(30)}/gauge`, '[2,7,"W"]', false), { kind: 'held' });
  assert.deepEqual(imp.reading(`/sensor/${sid(31)}/gauge`, '8', false), { kind: 'held' });
  assert.equal(imp.heldCount, 3);
  const c = imp.config(deviceConfigTopic(DEVICE_ID), JSON.stringify(flm02Config()));
  assert.deepEqual(
    c.released.map((m) => [m.payload, m.flm.name]),
    [[[2, 200, 'W'], 'main']],
  );
  // Grace over: the rest go with sid, kind and unit; one without a unit cannot.
  clock.advance(5000);
  const { out, errors } = imp.releaseHeld();
  assert.deepEqual(
    out.map((m) => m.flm),
    [{ sid: sid(30), kind: 'gauge', unit: 'W' }],
  );
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, new RegExp(`reading of sensor ${sid(31)} has no unit`));
  assert.equal(
    imp.reading(`/sensor/${sid(30)}/gauge`, '[3,9,"W"]', false).kind,
    'out',
    'after the grace period: straight through',
  );
  // Retained replays are skipped by default, passed on request.
  assert.deepEqual(imp.reading(`/sensor/${sid(1)}/gauge`, '[4,1,"W"]', true), { kind: 'skipped', why: 'retained' });
  const pass = new ReadingImporter({ clock, retained: 'pass' });
  pass.connected();
  clock.advance(6000);
  assert.equal(pass.reading(`/sensor/${sid(1)}/gauge`, '[4,1,"W"]', true).kind, 'out');
});

test('importer: the held set is bounded', () => {
  const clock = new ManualClock(NOW * 1000);
  const imp = new ReadingImporter({ clock, maxHeld: 2 });
  imp.connected();
  imp.reading(`/sensor/${sid(1)}/gauge`, '1', false);
  imp.reading(`/sensor/${sid(2)}/gauge`, '1', false);
  assert.equal(imp.reading(`/sensor/${sid(2)}/gauge`, '2', false).kind, 'held', 'the newest replaces its own');
  assert.throws(
    () => imp.reading(`/sensor/${sid(3)}/gauge`, '1', false),
    /no unit/,
    'past the bound it passes, and without a unit cannot',
  );
  assert.equal(imp.reading(`/sensor/${sid(3)}/gauge`, '[1,"W"]', false).kind, 'out');
});
