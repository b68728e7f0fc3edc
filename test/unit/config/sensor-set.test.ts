import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceSensors, DERIVED_SENSORS_FILE, MAX_SENSORS } from '../../../core/config/sensor-set';
import { P1ReadingMapper } from '../../../core/readings/p1-mapper';
import { buildDeviceConfig } from '../../../core/mqtt/device-config';
import { parseTelegram } from '../../../core/p1';
import { fixture, telegramOf } from '../p1/fixtures';
import { device, sid, DEVICE_ID } from '../../support/device';
import { tempDir } from '../../support/nodered';

const fluvius = () => parseTelegram(telegramOf(fixture('dsmr5-be-fluvius.txt')));

/** What flm-sensor does with a telegram: the mapper derives, the device registers. */
function derive(set: DeviceSensors) {
  const r = new P1ReadingMapper(set.device).process(fluvius(), 0);
  set.register(r.derived, 'p1');
  return r;
}

test("a P1 meter's derived sensors join the table: known, published after it, kept on disk, the same after a restart", async () => {
  const dir = await tempDir();
  try {
    const d = device();
    const set = await DeviceSensors.load(d, dir.path);
    let changes = 0;
    set.on('change', () => changes++);
    assert.equal(set.all().length, 4);
    const r = derive(set);
    assert.equal(changes, 1, 'one change event for the telegram');
    const names = set.all().map((s) => `${s.n} ${s.name}`);
    assert.deepEqual(names, [
      '1 main',
      '2 solar',
      '3 gas',
      '4 water',
      '5 grid',
      '6 grid import',
      '7 grid export',
      '8 grid import t1',
      '9 grid export t1',
      '10 grid import t2',
      '11 grid export t2',
      '12 gas',
      '13 water',
    ]);
    // Every reading's sensor is one the device now answers for.
    for (const x of r.readings) assert.equal(set.get(x.sid)?.id, x.sid);
    // The published table lists them, with the FLM's option names.
    const table = buildDeviceConfig(set.published());
    assert.deepEqual(table['5'], {
      id: r.derived[0]!.id,
      type: 'electricity',
      function: 'grid',
      class: 'cosem',
      enable: 1,
      p1: 'net',
      data_type: 'counter',
      rid: 0,
    });
    assert.equal(table['12']!.function, 'gas');
    assert.equal(table.main!.max_provisioned_sensors, 13);

    // The same telegram again derives nothing new; a restart finds them on disk.
    assert.equal(set.register(r.derived, 'p1'), false);
    await set.flushed();
    const again = await DeviceSensors.load(d, dir.path);
    assert.deepEqual(again.all(), set.all());
    const onDisk = JSON.parse(await readFile(join(dir.path, DERIVED_SENSORS_FILE), 'utf8'));
    assert.equal(onDisk[DEVICE_ID].sensors.length, 9);
    // Another device sharing the data dir has its own.
    assert.equal(
      (await DeviceSensors.load(device([], { id: 'ffffffffffffffffffffffffffffffff' }), dir.path)).all().length,
      0,
    );

    // A damaged entry costs only itself, with a warning.
    onDisk[DEVICE_ID].sensors[0].type = 'plutonium';
    onDisk[DEVICE_ID].sensors[1] = 'garbage';
    await writeFile(join(dir.path, DERIVED_SENSORS_FILE), JSON.stringify(onDisk));
    const warnings: string[] = [];
    const damaged = await DeviceSensors.load(d, dir.path, { onWarning: (w) => warnings.push(w) });
    assert.equal(damaged.all().length, 4 + 7);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /derived-sensors\.json: a derived sensor of device .* is not readable and is left out/);
  } finally {
    await dir.remove();
  }
});

test("the running source decides what is alive: the simulator's table under P1, P1 sensors under the simulator", () => {
  const d = device();
  const derivedFrom = new DeviceSensors(d);
  const r = derive(derivedFrom);
  const stored = r.derived.map((s) => ({ ...s, origin: 'p1' as const }));

  const p1 = new DeviceSensors(d, { live: ['p1'], stored });
  assert.deepEqual(
    p1.live().map((s) => s.name),
    [
      'grid',
      'grid import',
      'grid export',
      'grid import t1',
      'grid export t1',
      'grid import t2',
      'grid export t2',
      'gas',
      'water',
    ],
  );
  const published = buildDeviceConfig(p1.published());
  assert.deepEqual(
    ['1', '2', '3', '4'].map((n) => published[n]!.enable),
    [0, 0, 0, 0],
    "the simulator's sensors show disabled",
  );
  assert.equal(published['5']!.enable, 1);
  // Still known: their history is served.
  assert.ok(p1.get(sid(1)));

  const sim = new DeviceSensors(d, { live: ['board'], stored });
  assert.deepEqual(
    sim.live().map((s) => s.name),
    ['main', 'solar', 'gas', 'water'],
  );
  assert.ok(sim.get(r.derived[0]!.id), 'P1 history stays attached');

  const any = new DeviceSensors(d, { stored });
  assert.equal(any.live().length, 13, 'a flow that runs every source feeds every sensor');

  // A table that takes the meter with cosem sensors replaces the derived ones.
  const cosem = new DeviceSensors(
    device([{ n: 1, id: sid(1), name: 'smart', type: 'electricity', class: 'cosem', p1: 'net' }]),
    { live: ['p1'], stored },
  );
  assert.deepEqual(
    cosem.live().map((s) => s.name),
    ['smart'],
  );
});

test('readings that describe themselves (flm-in) become sensors; made-up ones and floods do not', () => {
  const set = new DeviceSensors(device([]));
  const remote = '1234567890abcdef1234567890abcdef';
  const s = set.sensorOf(remote, {
    name: 'their main',
    type: 'electricity',
    class: 'analog',
    deviceId: 'ffffffffffffffffffffffffffffffff',
  });
  assert.deepEqual([s?.name, s?.type, s?.class], ['their main', 'electricity', 'virtual']);
  assert.equal(set.isLive(s!), true);
  assert.equal(set.sensorOf(remote, {}), s, 'known now');
  assert.equal(set.sensorOf('abc', { name: 'x', type: 'electricity' }), undefined, 'not a sensor id');
  assert.equal(set.sensorOf(sid(99), { name: 'x', type: 'plutonium' }), undefined, 'not a sensor type');
  assert.equal(set.sensorOf(sid(98), undefined), undefined, 'nothing to describe it');
  for (let i = 0; i < MAX_SENSORS + 10; i++) set.sensorOf(sid(1000 + i), { name: `s${i}`, type: 'water' });
  assert.equal(set.all().length, MAX_SENSORS);
});
