import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDevice, loadDevice } from '../../../core/config/device';
import { loadOrCreateIdentity, deriveSensorId } from '../../../core/config/identity';
import { DEVICE_ID, DEVICE_KEY, HOUSEHOLD_SENSORS, sid } from '../../support/device';

test('a valid device is normalised: analog defaults, ids kept', () => {
  const d = parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors: HOUSEHOLD_SENSORS });
  assert.equal(d.phase, 1);
  assert.equal(d.validAfter, 1234567890);
  assert.equal(d.sensors[0]!.voltage, 230);
  assert.equal(d.sensors[0]!.current, 50);
  assert.equal(d.sensors[1]!.voltage, undefined);
  assert.equal(d.sensors[2]!.constant, 10);
  assert.deepEqual(
    d.sensors.map((s) => s.id),
    [sid(1), sid(2), sid(3), sid(4)],
  );
  assert.ok(d.sensors.every((s) => s.enable && s.data_type === 'counter' && s.rid === 0));
});

test('missing ids are derived from the device id and section, stably and per device', () => {
  const sensors = [{ name: 'main', type: 'electricity' as const, class: 'analog' as const, port: [1] }];
  const a = parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors });
  const b = parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors });
  const c = parseDevice({ id: DEVICE_KEY, key: DEVICE_KEY, sensors });
  assert.match(a.sensors[0]!.id, /^[0-9a-f]{32}$/);
  assert.equal(a.sensors[0]!.id, b.sensors[0]!.id);
  assert.notEqual(a.sensors[0]!.id, c.sensors[0]!.id);
  assert.equal(a.sensors[0]!.id, deriveSensorId(DEVICE_ID, '1'));
});

test('section numbers: explicit ones are kept, the others fill the gaps', () => {
  const d = parseDevice({
    id: DEVICE_ID,
    key: DEVICE_KEY,
    sensors: [
      { name: 'a', type: 'water', class: 'pulse', port: [4], constant: 1 },
      { n: 1, name: 'b', type: 'gas', class: 'pulse', port: [5], constant: 1 },
    ],
  });
  assert.deepEqual(
    d.sensors.map((s) => s.n),
    [2, 1],
  );
});

const bad: Array<[string, unknown, RegExp]> = [
  ['short device id', { id: 'abc', key: DEVICE_KEY }, /id: must be 32 lowercase hex/],
  ['uppercase key', { id: DEVICE_ID, key: DEVICE_KEY.toUpperCase() }, /key: must be 32 lowercase hex/],
  ['phase 2', { id: DEVICE_ID, key: DEVICE_KEY, phase: 2 }, /phase/],
  [
    'pulse without constant',
    { id: DEVICE_ID, key: DEVICE_KEY, sensors: [{ name: 'x', type: 'water', class: 'pulse', port: [4] }] },
    /needs a meter constant/,
  ],
  [
    'constant with 4 decimals',
    {
      id: DEVICE_ID,
      key: DEVICE_KEY,
      sensors: [{ name: 'x', type: 'water', class: 'pulse', port: [4], constant: 1.0001 }],
    },
    /at most 3 decimals/,
  ],
  [
    'clamp rating 60 A',
    {
      id: DEVICE_ID,
      key: DEVICE_KEY,
      sensors: [{ name: 'x', type: 'electricity', class: 'analog', port: [1], current: 60 }],
    },
    /current/,
  ],
  [
    'analog without port',
    { id: DEVICE_ID, key: DEVICE_KEY, sensors: [{ name: 'x', type: 'electricity', class: 'analog' }] },
    /needs at least one port/,
  ],
  [
    'unknown class',
    { id: DEVICE_ID, key: DEVICE_KEY, sensors: [{ name: 'x', type: 'electricity', class: 'uart', port: [1] }] },
    /class/,
  ],
  [
    'bad name',
    { id: DEVICE_ID, key: DEVICE_KEY, sensors: [{ name: ' x', type: 'electricity', class: 'analog', port: [1] }] },
    /name/,
  ],
  [
    'unknown field',
    {
      id: DEVICE_ID,
      key: DEVICE_KEY,
      sensors: [{ name: 'x', type: 'electricity', class: 'analog', port: [1], colour: 'red' }],
    },
    /colour/,
  ],
  [
    'duplicate section',
    {
      id: DEVICE_ID,
      key: DEVICE_KEY,
      sensors: [
        { n: 1, name: 'x', type: 'water', class: 'pulse', port: [4], constant: 1 },
        { n: 1, name: 'y', type: 'gas', class: 'pulse', port: [5], constant: 1 },
      ],
    },
    /section 1 is used twice/,
  ],
  [
    'shared port',
    {
      id: DEVICE_ID,
      key: DEVICE_KEY,
      sensors: [
        { name: 'x', type: 'water', class: 'pulse', port: [4], constant: 1 },
        { name: 'y', type: 'gas', class: 'pulse', port: [4], constant: 1 },
      ],
    },
    /port 4 is used by both "x" and "y"/,
  ],
  [
    'duplicate id',
    {
      id: DEVICE_ID,
      key: DEVICE_KEY,
      sensors: [
        { id: sid(1), name: 'x', type: 'water', class: 'pulse', port: [4], constant: 1 },
        { id: sid(1), name: 'y', type: 'gas', class: 'pulse', port: [5], constant: 1 },
      ],
    },
    /is used twice/,
  ],
];
for (const [name, input, re] of bad) {
  test(`invalid device config is refused with a clear message: ${name}`, () => {
    assert.throws(
      () => parseDevice(input as never),
      (err: Error) => /^invalid device config: /.test(err.message) && re.test(err.message),
    );
  });
}

test('identity is generated once with 128 random bits, kept in the data dir with mode 0600', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-id-'));
  try {
    const a = await loadOrCreateIdentity(dir);
    assert.match(a.id, /^[0-9a-f]{32}$/);
    assert.match(a.key, /^[0-9a-f]{32}$/);
    assert.notEqual(a.id, a.key);
    const b = await loadOrCreateIdentity(dir);
    assert.deepEqual(b, a);
    assert.equal((await stat(join(dir, 'device.json'))).mode & 0o777, 0o600);
    const other = await mkdtemp(join(tmpdir(), 'flm-id-'));
    assert.notEqual((await loadOrCreateIdentity(other)).id, a.id);
    await rm(other, { recursive: true });
    const configured = await loadOrCreateIdentity(dir, { id: DEVICE_ID, key: DEVICE_KEY });
    assert.deepEqual(configured, { id: DEVICE_ID, key: DEVICE_KEY });
    assert.deepEqual(
      JSON.parse(await readFile(join(dir, 'device.json'), 'utf8')),
      a,
      'configured values do not overwrite the kept identity',
    );
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('an identity file readable by others (an older version, a hand-made copy) is closed to 0600 when read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-id-'));
  try {
    await writeFile(join(dir, 'device.json'), JSON.stringify({ id: DEVICE_ID, key: DEVICE_KEY }), { mode: 0o644 });
    await chmod(join(dir, 'device.json'), 0o644);
    assert.deepEqual(await loadOrCreateIdentity(dir), { id: DEVICE_ID, key: DEVICE_KEY });
    assert.equal((await stat(join(dir, 'device.json'))).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a damaged identity file is an error, never silently replaced', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-id-'));
  try {
    await writeFile(join(dir, 'device.json'), '{"id": "nothex"}');
    await assert.rejects(loadOrCreateIdentity(dir), /"id" must be 32 lowercase hex/);
    await writeFile(join(dir, 'device.json'), '{oops');
    await assert.rejects(loadOrCreateIdentity(dir), /not valid JSON/);
    assert.equal(await readFile(join(dir, 'device.json'), 'utf8'), '{oops');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('loadDevice accepts the sensor table as JSON text and reports bad JSON clearly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-id-'));
  try {
    const d = await loadDevice({ dataDir: dir, sensors: JSON.stringify(HOUSEHOLD_SENSORS) });
    assert.equal(d.sensors.length, 4);
    await assert.rejects(loadDevice({ dataDir: dir, sensors: '[{' }), /sensor table is not valid JSON/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a long list of problems is summed up, not dumped', () => {
  const sensors = Array.from({ length: 10 }, (_, i) => ({
    name: `s${i}`,
    type: 'water',
    class: 'pulse',
    port: [300 + i],
    constant: 1,
  }));
  assert.throws(
    () => parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors } as never),
    (err: Error) =>
      /sensors\.0\.port\.0: .*; sensors\.1\.port\.0: .*; sensors\.2\.port\.0: .* \(and 7 more\)$/.test(err.message),
  );
});

test('an FLM03 clamp port may carry one sensor per parameter (subtype), but not two of the same', () => {
  const clamp = (name: string, subtype: string) => ({ name, type: 'electricity', class: 'analog', port: [1], subtype });
  const d = parseDevice({
    id: DEVICE_ID,
    key: DEVICE_KEY,
    sensors: [clamp('p', 'pplus'), clamp('v', 'vrms'), clamp('q', 'q1')],
  } as never);
  assert.equal(d.sensors.length, 3);
  assert.throws(
    () => parseDevice({ id: DEVICE_ID, key: DEVICE_KEY, sensors: [clamp('a', 'pplus'), clamp('b', 'pplus')] } as never),
    /port 1 \(pplus\) is used by both "a" and "b"/,
  );
});
