import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CounterStateFile } from '../../../core/readings/counter-state';

test('counter state round-trips through an atomic file and leaves no temp files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-cs-'));
  try {
    const f = new CounterStateFile(join(dir, 'sub', 'counters.json'));
    assert.deepEqual((await f.load()).state, { sensors: {} });
    const saves = [];
    for (let i = 0; i < 20; i++) saves.push(f.save({ sensors: { a: { milli: i }, b: { joules: i * 1.5 } } }));
    await Promise.all(saves);
    const r = await new CounterStateFile(join(dir, 'sub', 'counters.json')).load();
    assert.deepEqual(r.state, { sensors: { a: { milli: 19 }, b: { joules: 28.5 } } }, 'the last save wins');
    assert.deepEqual(await readdir(join(dir, 'sub')), ['counters.json']);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a damaged counter file is moved aside with a warning, not deleted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-cs-'));
  try {
    const path = join(dir, 'counters.json');
    await writeFile(path, '{"version":1,"sensors":{"a":{"milli":');
    const r = await new CounterStateFile(path).load();
    assert.deepEqual(r.state, { sensors: {} });
    assert.match(r.warning!, /unreadable; moved to .*damaged-\d+/);
    const files = await readdir(dir);
    assert.equal(files.length, 1);
    assert.equal(await readFile(join(dir, files[0]!), 'utf8'), '{"version":1,"sensors":{"a":{"milli":');
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('a damaged entry resets only its own sensor; the file is copied aside and the others keep their counts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-cs-'));
  try {
    const path = join(dir, 'counters.json');
    const text = '{"version":1,"sensors":{"a":{"milli":-5},"b":{"joules":7200,"reserved":3},"c":{"milli":"12"},"d":{"milli":42000,"refs":{"4":42}}}}';
    await writeFile(path, text);
    const r = await new CounterStateFile(path).load();
    assert.deepEqual(r.state, { sensors: { b: { joules: 7200, reserved: 3 }, d: { milli: 42000, refs: { '4': 42 } } } });
    assert.match(r.warning!, /the entry of sensor "a", "c" was unreadable; copied to .*damaged-\d+; only those sensors start at 0/);
    const aside = (await readdir(dir)).filter((f) => f.includes('damaged'));
    assert.equal(aside.length, 1);
    assert.equal(await readFile(join(dir, aside[0]!), 'utf8'), text, 'the copy keeps every byte');
    assert.equal(await readFile(path, 'utf8'), text, 'the file itself stays until the next save');
  } finally {
    await rm(dir, { recursive: true });
  }
});
