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
    await writeFile(path, '{"version":1,"sensors":{"a":{"milli":-5}}}');
    const r = await new CounterStateFile(path).load();
    assert.deepEqual(r.state, { sensors: {} });
    assert.match(r.warning!, /unreadable; moved to .*damaged-\d+/);
    const files = await readdir(dir);
    assert.equal(files.length, 1);
    assert.equal(await readFile(join(dir, files[0]!), 'utf8'), '{"version":1,"sensors":{"a":{"milli":-5}}}');
  } finally {
    await rm(dir, { recursive: true });
  }
});
