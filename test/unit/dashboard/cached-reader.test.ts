import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readBlockAt, BlockVanishedError } from '../../../core/api/blocks';
import { TmpoDirReader } from '../../../core/api/store-reader';
import { CachedBlockReader } from '../../../core/dashboard/cached-reader';
import { encodeSeries } from '../../../core/tmpo/codec';
import { blockPath, span, type BlockKey } from '../../../core/tmpo/ids';
import { withTempDir } from '../../support/temp-dir';

const SID = 'c1411c6b4f9910bbbab09f145f8533b9';
const T16 = 2 ** 16 * 27000;
const key = (i: number): BlockKey => ({ sid: SID, rid: 0, lvl: 16, bid: T16 + i * span(16) });

function write(dir: string, k: BlockKey, n: number, first = 100): void {
  const times = Array.from({ length: n }, (_, i) => k.bid + i * 10);
  const values = times.map((_, i) => first + i);
  const file = blockPath(dir, k);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, encodeSeries({ times, values }, { id: SID }));
}

test('decoded blocks are kept within the budget, taken again when the file changes, dropped when it is gone', () =>
  withTempDir(async (dir) => {
    for (let i = 0; i < 3; i++) write(dir, key(i), 100);
    const r = new CachedBlockReader(await TmpoDirReader.open(dir), 250);
    const a = await readBlockAt(r, key(0));
    assert.equal(await readBlockAt(r, key(0)), a, 'the same decoded block the second time');
    await readBlockAt(r, key(1));
    assert.equal(r.size, 200);
    await readBlockAt(r, key(2));
    assert.equal(r.size, 200, 'the least recently used block left');
    assert.notEqual(await readBlockAt(r, key(0)), a, 'decoded again after it left');

    // A late reading merged into block 1: a new file, read again.
    write(dir, key(1), 120, 500);
    utimesSync(blockPath(dir, key(1)), new Date(), new Date(Date.now() + 5000));
    const b = await readBlockAt(r, key(1));
    assert.equal(b.t.length, 120);
    assert.equal(b.h.head[1], 500);

    rmSync(blockPath(dir, key(1)));
    await assert.rejects(readBlockAt(r, key(1)), BlockVanishedError);
    assert.ok(r.size <= 250);
  }));
