import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SensorInput } from '../../../core/config/schema';
import {
  discoveryConfigs,
  sensorConfig,
  removalMessages,
  availabilityMessage,
  configMessage,
  staleTopics,
  sensorFromReading,
  isBirthTopic,
  checkPrefix,
  mbusDevice,
  type DiscoveryConfig,
} from '../../../core/sinks/homeassistant';
import { encodeReading } from '../../../core/mqtt/payload';
import { device, sid, DEVICE_ID, HOUSEHOLD_SENSORS } from '../../support/device';
import { checkHaSensorConfig, energyDashboardReady } from '../../support/ha-sensor-schema';

const valid = (c: DiscoveryConfig) => {
  const r = checkHaSensorConfig(c.payload);
  assert.ok(r.success, `${c.topic}: ${r.errors.join('; ')}`);
  return r.data;
};
const byTopic = (list: DiscoveryConfig[], s: string, kind: string) => {
  const c = list.find((x) => x.topic === `homeassistant/sensor/${DEVICE_ID}/${s}_${kind}/config`);
  assert.ok(c, `a config for ${s} ${kind}`);
  return c.payload;
};

/** What HA's template `{{ value_json[1] / N }}` makes of an FLM payload, for the templates we write. */
function render(template: string, payload: string): number {
  const m = /^\{\{ value_json\[1\](?: \/ (\d+))? \}\}$/.exec(template);
  assert.ok(m, `a template we know how to render: ${template}`);
  const v = (JSON.parse(payload) as [number, number, string])[1];
  return m[1] ? v / Number(m[1]) : v;
}

test('the household: two entities per meter, Energy-dashboard classes, FLM topics as state topics', () => {
  const list = discoveryConfigs(device(), device().sensors);
  assert.equal(list.length, 8);
  list.forEach(valid);

  const main = byTopic(list, sid(1), 'counter');
  assert.deepEqual(main, {
    name: 'main energy',
    unique_id: `${DEVICE_ID}_${sid(1)}_counter`,
    state_topic: `/sensor/${sid(1)}/counter`,
    value_template: '{{ value_json[1] }}',
    device_class: 'energy',
    state_class: 'total_increasing',
    unit_of_measurement: 'Wh',
    suggested_display_precision: 0,
    availability_topic: `flm/${DEVICE_ID}/availability`,
    payload_available: 'online',
    payload_not_available: 'offline',
    device: { identifiers: [DEVICE_ID], name: 'Fluksometer 01234567', manufacturer: 'Flukso', model: 'Fluksometer' },
  });
  const power = byTopic(list, sid(1), 'gauge');
  assert.equal(power.name, 'main power');
  assert.equal(power.unique_id, `${DEVICE_ID}_${sid(1)}_gauge`);
  assert.equal(power.state_topic, `/sensor/${sid(1)}/gauge`);
  assert.equal(power.device_class, 'power');
  assert.equal(power.state_class, 'measurement');
  assert.equal(power.unit_of_measurement, 'W');
  assert.equal(power.value_template, '{{ value_json[1] }}');

  const gas = byTopic(list, sid(3), 'counter');
  assert.equal(gas.device_class, 'gas');
  assert.equal(gas.state_class, 'total_increasing');
  assert.equal(gas.unit_of_measurement, 'm³');
  assert.equal(gas.value_template, '{{ value_json[1] / 1000 }}');
  assert.equal(render(gas.value_template, encodeReading(1750000000, 12345, 'L')), 12.345);
  const water = byTopic(list, sid(4), 'counter');
  assert.equal(water.device_class, 'water');
  assert.equal(water.unit_of_measurement, 'm³');
  assert.equal(render(water.value_template, '[1750000000,500.5,"L"]'), 0.5005);

  const flow = byTopic(list, sid(4), 'gauge');
  assert.equal(flow.device_class, 'volume_flow_rate');
  assert.equal(flow.state_class, 'measurement');
  assert.equal(flow.unit_of_measurement, 'L/min');
  assert.equal(render(flow.value_template, '[1750000000,1440,"L/day"]'), 1, '1440 L/day is 1 L/min');

  for (const s of [sid(1), sid(2), sid(3), sid(4)])
    assert.ok(energyDashboardReady(valid({ topic: '', payload: byTopic(list, s, 'counter') })));
});

test('discovery topics: <prefix>/sensor/<deviceid>/<sid>_<kind>/config with ids HA accepts', () => {
  const list = discoveryConfigs(device(), device().sensors, { prefix: 'ha/test' });
  for (const c of list) {
    const m = /^ha\/test\/sensor\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/config$/.exec(c.topic);
    assert.ok(m, c.topic);
    assert.equal(m[1], DEVICE_ID);
    assert.equal(`${m[1]}_${m[2]}`, c.payload.unique_id);
  }
  assert.equal(checkPrefix(' homeassistant '), 'homeassistant');
  for (const bad of ['', 'ha/#', 'a+b', '/ha', 'ha/', 'h a'])
    assert.throws(() => checkPrefix(bad), /not a valid MQTT topic prefix/);
  assert.ok(isBirthTopic('homeassistant/status', 'ha'));
  assert.ok(isBirthTopic('ha/status', 'ha'));
  assert.ok(!isBirthTopic('ha/other', 'ha'));
});

test('disabled sensors are not announced; the device block takes the name, model and version given', () => {
  const sensors: SensorInput[] = HOUSEHOLD_SENSORS.map((s, i) => (i === 1 ? { ...s, enable: false } : s));
  const d = device(sensors);
  const list = discoveryConfigs(d, d.sensors, {
    deviceName: 'House',
    swVersion: '0.1.0',
    origin: { name: 'node-red-contrib-fluksometer', sw_version: '0.1.0' },
  });
  assert.equal(list.length, 6);
  assert.ok(!list.some((c) => c.payload.unique_id.includes(sid(2))));
  const p = valid(list[0]!);
  assert.deepEqual(p.device, {
    identifiers: [DEVICE_ID],
    name: 'House',
    manufacturer: 'Flukso',
    model: 'Fluksometer',
    sw_version: '0.1.0',
  });
  assert.deepEqual(p.origin, { name: 'node-red-contrib-fluksometer', sw_version: '0.1.0' });
});

test('P1 cosem sensors: net counter is total, directions and tariffs total_increasing, phases are power; M-Bus meters get their own device', () => {
  const d = device([
    { n: 1, id: sid(1), name: 'grid', type: 'electricity', class: 'cosem', p1: 'net' },
    { n: 2, id: sid(2), name: 'import', type: 'electricity', class: 'cosem', p1: 'delivered' },
    { n: 3, id: sid(3), name: 'export t2', type: 'electricity', class: 'cosem', p1: 'returned:t2' },
    { n: 4, id: sid(4), name: 'phase 1', type: 'electricity', class: 'cosem', p1: 'l1' },
    { n: 5, id: sid(5), name: 'gas', type: 'gas', class: 'cosem', p1: 'gas:g123' },
    { n: 6, id: sid(6), name: 'water', type: 'water', class: 'cosem', p1: 'water' },
  ]);
  const list = discoveryConfigs(d, d.sensors);
  list.forEach(valid);
  assert.deepEqual(
    list.map((c) => c.payload.unique_id.slice(33)),
    [
      `${sid(1)}_counter`,
      `${sid(1)}_gauge`,
      `${sid(2)}_counter`,
      `${sid(2)}_gauge`,
      `${sid(3)}_counter`,
      `${sid(4)}_gauge`,
      `${sid(5)}_counter`,
      `${sid(6)}_counter`,
    ],
  );
  assert.equal(byTopic(list, sid(1), 'counter').state_class, 'total');
  assert.equal(byTopic(list, sid(1), 'counter').device_class, 'energy');
  assert.equal(byTopic(list, sid(1), 'gauge').device_class, 'power');
  assert.equal(byTopic(list, sid(2), 'counter').state_class, 'total_increasing');
  assert.equal(byTopic(list, sid(3), 'counter').state_class, 'total_increasing');
  assert.equal(byTopic(list, sid(4), 'gauge').state_class, 'measurement');
  const gas = byTopic(list, sid(5), 'counter');
  assert.equal(gas.unit_of_measurement, 'm³');
  assert.deepEqual(gas.device, {
    identifiers: [`${DEVICE_ID}_gas_g123`],
    name: 'Gas meter g123',
    model: 'M-Bus gas meter',
    via_device: DEVICE_ID,
  });
  assert.deepEqual(byTopic(list, sid(6), 'counter').device.identifiers, [`${DEVICE_ID}_water`]);
  assert.deepEqual(byTopic(list, sid(1), 'counter').device.identifiers, [DEVICE_ID]);
  assert.equal(mbusDevice(DEVICE_ID, 'net'), undefined);
});

test('FLM03 clamp subtypes: W/Wh, var/varh, V, A, power factor and diagnostics in units HA accepts', () => {
  const subs = ['pplus', 'pminus', 'q1', 'q2', 'q3', 'q4', 'vrms', 'irms', 'pf', 'vthd', 'ithd', 'alpha'] as const;
  // one sensor per FLM03 parameter, all on clamp port 1
  const d = device(
    subs.map((subtype, i) => ({
      n: i + 1,
      id: sid(i + 1),
      name: `clamp1 ${subtype}`,
      type: 'electricity' as const,
      class: 'analog' as const,
      port: [1],
      subtype,
    })),
  );
  const list = discoveryConfigs({ id: DEVICE_ID }, d.sensors);
  list.forEach(valid);
  const get = (i: number, kind: string) => byTopic(list, sid(i + 1), kind);
  assert.equal(list.length, 6 * 2 + 6);
  assert.deepEqual(
    [get(0, 'counter').device_class, get(0, 'counter').unit_of_measurement, get(0, 'counter').state_class],
    ['energy', 'Wh', 'total_increasing'],
  );
  assert.deepEqual([get(1, 'gauge').device_class, get(1, 'gauge').unit_of_measurement], ['power', 'W']);
  assert.deepEqual(
    [get(2, 'counter').device_class, get(2, 'counter').unit_of_measurement, get(2, 'counter').state_class],
    ['reactive_energy', 'varh', 'total_increasing'],
  );
  assert.deepEqual([get(5, 'gauge').device_class, get(5, 'gauge').unit_of_measurement], ['reactive_power', 'var']);
  assert.equal(get(2, 'gauge').name, 'clamp1 q1 reactive power');
  assert.deepEqual([get(6, 'gauge').device_class, get(6, 'gauge').unit_of_measurement], ['voltage', 'V']);
  assert.deepEqual([get(7, 'gauge').device_class, get(7, 'gauge').unit_of_measurement], ['current', 'A']);
  assert.equal(get(8, 'gauge').device_class, 'power_factor');
  assert.equal(get(8, 'gauge').unit_of_measurement, undefined);
  for (const i of [9, 10, 11]) {
    assert.equal(get(i, 'gauge').device_class, undefined);
    assert.equal(get(i, 'gauge').entity_category, 'diagnostic');
  }
  assert.equal(get(11, 'gauge').unit_of_measurement, '°');
  // flxd's capitals become HA's units when a reading shows them
  const q = sensorConfig(
    DEVICE_ID,
    { id: sid(3), name: 'q', type: 'electricity', subtype: 'q1', units: { counter: 'VARh' } },
    'counter',
  );
  assert.equal(valid(q).unit_of_measurement, 'varh');
});

test('Kube fields: temperature, humidity, pressure, light, battery voltage, error, movement and vibration counts', () => {
  const kube = (n: number, type: string) => ({ n, id: sid(n), name: `kube ${type}`, type, class: 'kube' as const });
  const types = [
    'temperature',
    'humidity',
    'pressure',
    'light',
    'battery',
    'error',
    'movement',
    'vibration',
    'proximity',
  ];
  const list = discoveryConfigs(
    { id: DEVICE_ID },
    types.map((t, i) => kube(i + 1, t)),
  );
  list.forEach(valid);
  const g = (i: number) => byTopic(list, sid(i + 1), i === 6 || i === 7 ? 'counter' : 'gauge');
  assert.equal(list.length, types.length);
  assert.deepEqual(
    [g(0).device_class, g(0).unit_of_measurement, g(0).state_class],
    ['temperature', '°C', 'measurement'],
  );
  assert.deepEqual([g(1).device_class, g(1).unit_of_measurement], ['humidity', '%']);
  assert.deepEqual([g(2).device_class, g(2).unit_of_measurement], ['pressure', 'Pa']);
  assert.deepEqual([g(3).device_class, g(3).unit_of_measurement], ['illuminance', 'lx']);
  assert.deepEqual(
    [g(4).device_class, g(4).unit_of_measurement, g(4).name],
    ['voltage', 'V', 'kube battery battery voltage'],
  );
  assert.deepEqual([g(5).device_class, g(5).state_class, g(5).entity_category], [undefined, undefined, 'diagnostic']);
  assert.deepEqual(
    [g(6).device_class, g(6).state_class, g(6).unit_of_measurement],
    [undefined, 'total_increasing', undefined],
  );
  assert.deepEqual([g(8).device_class, g(8).state_class], [undefined, 'measurement']);
  // a battery reported in % is HA's battery class
  assert.equal(
    valid(sensorConfig(DEVICE_ID, { id: sid(5), name: 'b', type: 'battery', units: { gauge: '%' } }, 'gauge'))
      .device_class,
    'battery',
  );
});

test('heat meters: energy in Wh, power in W; FLM03 pulse gauges in L/s', () => {
  const list = discoveryConfigs({ id: DEVICE_ID }, [
    { id: sid(1), name: 'heat', type: 'heat', class: 'pulse' },
    { id: sid(2), name: 'rain', type: 'water', class: 'pulse', units: { gauge: 'L/s' } },
  ]);
  list.forEach(valid);
  assert.deepEqual(
    [byTopic(list, sid(1), 'counter').device_class, byTopic(list, sid(1), 'counter').unit_of_measurement],
    ['energy', 'Wh'],
  );
  assert.deepEqual(
    [byTopic(list, sid(1), 'gauge').device_class, byTopic(list, sid(1), 'gauge').unit_of_measurement],
    ['power', 'W'],
  );
  assert.deepEqual(
    [byTopic(list, sid(2), 'gauge').unit_of_measurement, byTopic(list, sid(2), 'gauge').value_template],
    ['L/s', '{{ value_json[1] }}'],
  );
});

test('sensors learnt from P1 readings (no cosem table): net is total, M-Bus meters by equipment id', () => {
  const net = sensorFromReading({
    sid: sid(7),
    kind: 'counter',
    name: 'p1',
    type: 'electricity',
    unit: 'Wh',
    deviceId: DEVICE_ID,
  })!;
  assert.deepEqual(net, {
    id: sid(7),
    name: 'p1',
    type: 'electricity',
    class: 'cosem',
    kinds: ['counter'],
    units: { counter: 'Wh' },
    net: true,
    p1: 'net',
  });
  const c = valid(sensorConfig(DEVICE_ID, net, 'counter'));
  assert.equal(c.state_class, 'total');
  const gas = sensorFromReading({
    sid: sid(8),
    kind: 'counter',
    name: 'gas-4730303332353631',
    type: 'gas',
    unit: 'L',
  })!;
  assert.equal(gas.p1, 'gas:4730303332353631');
  const g = valid(sensorConfig(DEVICE_ID, gas, 'counter'));
  assert.deepEqual(
    [g.device_class, g.unit_of_measurement, g.state_class, g.value_template],
    ['gas', 'm³', 'total_increasing', '{{ value_json[1] / 1000 }}'],
  );
  assert.equal(g.device!.name, 'Gas meter 4730303332353631');
  assert.equal(sensorFromReading({ sid: sid(9), kind: 'gauge' }), undefined, 'no name or type: nothing to announce');
  assert.deepEqual(
    discoveryConfigs({ id: DEVICE_ID }, [net]).map((x) => x.payload.unique_id),
    [`${DEVICE_ID}_${sid(7)}_counter`],
  );
});

test('a reading that names its class: a clamp or pulse counter only rises (total_increasing); cosem stays net', () => {
  for (const cls of ['analog', 'pulse']) {
    const s = sensorFromReading({
      sid: sid(7),
      kind: 'counter',
      name: 'main',
      type: 'electricity',
      unit: 'Wh',
      class: cls,
    })!;
    assert.deepEqual([s.class, s.net, s.p1], [cls, undefined, undefined]);
    assert.equal(valid(sensorConfig(DEVICE_ID, s, 'counter')).state_class, 'total_increasing', cls);
  }
  const p1 = sensorFromReading({
    sid: sid(7),
    kind: 'counter',
    name: 'p1',
    type: 'electricity',
    unit: 'Wh',
    class: 'cosem',
  })!;
  assert.equal(valid(sensorConfig(DEVICE_ID, p1, 'counter')).state_class, 'total');
  const kube = sensorFromReading({
    sid: sid(8),
    kind: 'gauge',
    name: 'hall',
    type: 'temperature',
    unit: '°C',
    class: 'kube',
  })!;
  assert.deepEqual([valid(sensorConfig(DEVICE_ID, kube, 'gauge')).device_class, kube.p1], ['temperature', undefined]);
  // an unknown class is not trusted: the cautious P1 reading
  assert.equal(
    sensorFromReading({ sid: sid(7), kind: 'counter', name: 'x', type: 'electricity', unit: 'Wh', class: 'lamp' })!
      .class,
    'cosem',
  );
});

test('removal, availability and the messages as they go on the wire', () => {
  const list = discoveryConfigs(device(), device().sensors);
  const m = configMessage(list[0]!);
  assert.equal(m.retain, true);
  assert.equal(m.qos, 1);
  assert.deepEqual(JSON.parse(m.payload), list[0]!.payload);
  const old = [...list.map((c) => c.topic), 'homeassistant/sensor/x/y_counter/config'];
  const stale = staleTopics(
    old,
    list.map((c) => c.topic),
  );
  assert.deepEqual(stale, ['homeassistant/sensor/x/y_counter/config']);
  assert.deepEqual(removalMessages(stale), [
    { topic: 'homeassistant/sensor/x/y_counter/config', payload: '', retain: true, qos: 1 },
  ]);
  assert.deepEqual(availabilityMessage(DEVICE_ID, true), {
    topic: `flm/${DEVICE_ID}/availability`,
    payload: 'online',
    retain: true,
    qos: 1,
  });
  assert.deepEqual(availabilityMessage(DEVICE_ID, false).payload, 'offline');
});

test('the schema itself refuses what HA refuses', () => {
  const good = discoveryConfigs(device(), device().sensors)[0]!.payload;
  const bad = (p: Record<string, unknown>, why: RegExp) => {
    const r = checkHaSensorConfig(p);
    assert.ok(!r.success, `should fail: ${JSON.stringify(p).slice(0, 80)}`);
    assert.match(r.errors.join('; '), why);
  };
  bad({ ...good, unit_of_measurement: 'm3', device_class: 'gas' }, /not one HA accepts/);
  bad({ ...good, state_class: 'measurement' }, /cannot have state_class measurement/);
  bad({ ...good, device_class: 'reactive_power', unit_of_measurement: 'VAR' }, /not one HA accepts/);
  bad({ ...good, state_topic: undefined }, /state_topic/);
  bad({ ...good, unit_of_meas: 'Wh' }, /unrecognized|Unrecognized/);
  bad({ ...good, unique_id: undefined }, /needs a unique_id/);
  bad({ ...good, device: { name: 'x' } }, /identifiers or connections/);
});
