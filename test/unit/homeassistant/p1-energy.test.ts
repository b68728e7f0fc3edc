import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryConfigs, DiscoveryRegistry } from '../../../core/sinks/homeassistant';
import { DeviceSensors } from '../../../core/config/sensor-set';
import { P1ReadingMapper } from '../../../core/readings/p1-mapper';
import { parseTelegram } from '../../../core/p1';
import { fixture, telegramOf } from '../p1/fixtures';
import { device, DEVICE_ID } from '../../support/device';
import { checkHaSensorConfig, energyDashboardReady, type HaSensorConfig } from '../../support/ha-sensor-schema';

/** A Belgian meter with gas and water on the default flow's device, as `FLM_SOURCE=p1 npm start` runs it. */
function p1Device(live: Array<'p1' | 'board'> = ['p1']) {
  const set = new DeviceSensors(device(), { live });
  set.register(
    new P1ReadingMapper(set.device).process(parseTelegram(telegramOf(fixture('dsmr5-be-fluvius.txt'))), 0).derived,
    'p1',
  );
  return set;
}

function entities(set: DeviceSensors): Map<string, HaSensorConfig> {
  const registry = new DiscoveryRegistry({ ...set.device, sensors: set.all() }, undefined, (s) => set.isLive(s));
  const out = new Map<string, HaSensorConfig>();
  for (const c of discoveryConfigs(set.device, registry.sources())) {
    const r = checkHaSensorConfig(c.payload);
    assert.ok(r.success, `${c.topic}: ${r.success ? '' : r.errors.join('; ')}`);
    out.set(r.data.name ?? '', r.data);
  }
  return out;
}

test('P1 by default: import and export per tariff and in total as total_increasing kWh, net counter and power, gas and water on M-Bus devices', () => {
  const e = entities(p1Device());
  for (const name of [
    'grid import',
    'grid export',
    'grid import t1',
    'grid import t2',
    'grid export t1',
    'grid export t2',
  ]) {
    const c = e.get(`${name} energy`);
    assert.ok(c, name);
    assert.deepEqual(
      [c.device_class, c.state_class, c.unit_of_measurement, c.value_template],
      ['energy', 'total_increasing', 'kWh', '{{ value_json[1] / 1000 }}'],
      name,
    );
    assert.ok(energyDashboardReady(c));
    assert.deepEqual(c.device?.identifiers, [DEVICE_ID]);
  }
  const net = e.get('grid energy')!;
  assert.deepEqual(
    [net.device_class, net.state_class, net.unit_of_measurement],
    ['energy', 'total', 'Wh'],
    'the net counter stays, as it was',
  );
  const power = e.get('grid power')!;
  assert.deepEqual([power.device_class, power.state_class, power.unit_of_measurement], ['power', 'measurement', 'W']);
  assert.deepEqual(
    [e.get('grid import power')?.device_class, e.get('grid export power')?.device_class],
    ['power', 'power'],
  );

  const gas = e.get('gas volume')!;
  assert.deepEqual(
    [gas.device_class, gas.state_class, gas.unit_of_measurement, gas.value_template],
    ['gas', 'total_increasing', 'm³', '{{ value_json[1] / 1000 }}'],
  );
  assert.deepEqual(gas.device, {
    identifiers: [`${DEVICE_ID}_gas_7FLO2119033733`],
    name: 'Gas meter 7FLO2119033733',
    model: 'M-Bus gas meter',
    via_device: DEVICE_ID,
  });
  const water = e.get('water volume')!;
  assert.deepEqual(
    [water.device_class, water.state_class, water.unit_of_measurement],
    ['water', 'total_increasing', 'm³'],
  );
  assert.deepEqual([water.device?.name, water.device?.via_device], ['Water meter 8SAG1234567890', DEVICE_ID]);
  assert.ok(energyDashboardReady(gas) && energyDashboardReady(water));

  // The simulator's table sensors are not announced while the meter runs.
  assert.equal(e.get('main energy'), undefined);
  assert.equal(e.get('solar energy'), undefined);
  assert.equal(e.size, 6 + 4 + 2, 'six registers; grid counter and three powers; gas, water');
});

test('under the simulator the P1 entities go and the household comes back', () => {
  const e = entities(p1Device(['board']));
  assert.deepEqual(
    [...e.keys()].sort(),
    [
      'gas flow',
      'gas volume',
      'main energy',
      'main power',
      'solar energy',
      'solar power',
      'water flow',
      'water volume',
    ].sort(),
  );
  assert.ok(
    [...e.values()].every((c) => JSON.stringify(c.device?.identifiers) === JSON.stringify([DEVICE_ID])),
    'no M-Bus devices',
  );
});

test('P1 sensors learnt from readings by an older version are announced only while the device runs P1', () => {
  const seen = [
    {
      id: 'c'.repeat(32),
      name: 'p1',
      type: 'electricity',
      class: 'cosem' as const,
      kinds: ['counter' as const],
      net: true,
      p1: 'net',
    },
  ];
  const stored = { topics: [], seen, extra: {} };
  const names = (live: Array<'p1' | 'board'>) => {
    const set = new DeviceSensors(device(), { live });
    return new DiscoveryRegistry({ ...set.device, sensors: set.all() }, stored, (s) => set.isLive(s))
      .sources()
      .map((s) => s.name);
  };
  assert.deepEqual(names(['p1']), ['p1']);
  assert.deepEqual(names(['board']), ['main', 'solar', 'gas', 'water']);
});
