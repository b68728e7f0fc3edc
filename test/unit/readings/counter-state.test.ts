import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CounterStateFile } from '../../../core/readings/counter-state';
import { ReadingComputer } from '../../../core/readings/computer';
import { device, sid, HOUSEHOLD_SENSORS } from '../../support/device';

async function inTempDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flm-cs-'));
  try {
    await work(dir);
  } finally {
    await rm(dir, { recursive: true });
  }
}

test('counter state round-trips through an atomic file and leaves no temp files', () =>
  inTempDir(async (dir) => {
    const f = new CounterStateFile(join(dir, 'sub', 'counters.json'));
    assert.deepEqual((await f.load()).state, { sensors: {} });
    const saves = [];
    for (let i = 0; i < 20; i++) saves.push(f.save({ sensors: { a: { milli: i }, b: { joules: i * 1.5 } } }));
    await Promise.all(saves);
    const r = await new CounterStateFile(join(dir, 'sub', 'counters.json')).load();
    assert.deepEqual(r.state, { sensors: { a: { milli: 19 }, b: { joules: 28.5 } } }, 'the last save wins');
    assert.deepEqual(await readdir(join(dir, 'sub')), ['counters.json']);
  }));

test('a damaged counter file is moved aside with a warning, not deleted', () =>
  inTempDir(async (dir) => {
    const path = join(dir, 'counters.json');
    await writeFile(path, '{"version":1,"sensors":{"a":{"milli":');
    const r = await new CounterStateFile(path).load();
    assert.deepEqual(r.state, { sensors: {} });
    assert.match(r.warning!, /unreadable; moved to .*damaged-\d+/);
    const files = await readdir(dir);
    assert.equal(files.length, 1);
    assert.equal(await readFile(join(dir, files[0]!), 'utf8'), '{"version":1,"sensors":{"a":{"milli":');
  }));

test('a damaged entry resets only its own sensor; the file is copied aside and the others keep their counts', () =>
  inTempDir(async (dir) => {
    const path = join(dir, 'counters.json');
    const text =
      '{"version":1,"sensors":{"a":{"milli":-5},"b":{"joules":7200,"reserved":3},"c":{"milli":"12"},"d":{"milli":42000,"refs":{"4":42}}}}';
    await writeFile(path, text);
    const r = await new CounterStateFile(path).load();
    assert.deepEqual(r.state, {
      sensors: { b: { joules: 7200, reserved: 3 }, d: { milli: 42000, refs: { '4': 42 } } },
    });
    assert.match(
      r.warning!,
      /the entry of sensor "a", "c" was unreadable; copied to .*damaged-\d+; only those sensors start at 0/,
    );
    const aside = (await readdir(dir)).filter((f) => f.includes('damaged'));
    assert.equal(aside.length, 1);
    assert.equal(await readFile(join(dir, aside[0]!), 'utf8'), text, 'the copy keeps every byte');
    assert.equal(await readFile(path, 'utf8'), text, 'the file itself stays until the next save');
  }));

test('entries of sensors the computation does not count (disabled, removed, P1 registers) are kept as saved', () => {
  const d = device(HOUSEHOLD_SENSORS.map((s) => (s.n === 2 ? { ...s, enable: false } : s)));
  const saved = {
    sensors: {
      [sid(2)]: { milli: 66_000, reserved: 67 },
      p1reg: { p1: { value: 1234, ms: 5 } },
      [sid(4)]: { milli: 3000 },
    },
  };
  const c = new ReadingComputer(d, saved);
  const snap = c.snapshot().sensors;
  assert.deepEqual(snap[sid(2)], { milli: 66_000, reserved: 67 });
  assert.deepEqual(snap.p1reg, { p1: { value: 1234, ms: 5 } });
  assert.deepEqual(snap[sid(4)], { milli: 3000 });
});
