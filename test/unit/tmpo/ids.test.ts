import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  LEVELS,
  assertBlockKey,
  blockEnd,
  blockId,
  blockPath,
  blockTail,
  childIds,
  compareKeys,
  lastChildId,
  parentId,
  parentLevel,
  parentWindowPast,
  span,
  type BlockKey,
} from '../../../core/tmpo/ids';
import { SID_A, SID_B } from './support';

test('levels 8/12/16/20 span 256 s, 4096 s, 65536 s and 1048576 s', () => {
  assert.deepEqual(LEVELS.map(span), [256, 4096, 65536, 1048576]);
});

test('block ids are times rounded down to a multiple of 2^lvl', () => {
  assert.equal(blockId(1422801984, 8), 1422801920); // the manual's MQTT example
  assert.equal(blockId(1422801920, 8), 1422801920);
  assert.equal(blockId(1422801919, 8), 1422801664);
  assert.equal(blockId(1422801984, 12), 1422798848);
  assert.equal(blockId(1422801984, 16), 1422786560);
  assert.equal(blockId(1422801984, 20), 1422917632 - 1048576);
  for (const lvl of LEVELS) assert.equal(blockId(1422801984, lvl) % 2 ** lvl, 0);
});

test('window end and the server tail (inclusive, bid + 2^lvl - 1)', () => {
  assert.equal(blockEnd(8, 1422801920), 1422802176);
  assert.equal(blockTail(8, 1422801920), 1422802175);
  assert.equal(blockTail(20, 0), 1048575);
});

test('parents and children', () => {
  assert.equal(parentLevel(8), 12);
  assert.equal(parentLevel(20), undefined);
  assert.equal(parentId(8, 1422801920), 1422798848);
  assert.throws(() => parentId(20, 0), RangeError);
  const kids = childIds(12, 1422798848);
  assert.equal(kids.length, 16);
  assert.equal(kids[0], 1422798848);
  assert.equal(kids[1], 1422798848 + 256);
  for (const k of kids) assert.equal(parentId(8, k), 1422798848);
  // tmpo-py _lastchild: bid + 15 * 2^(lvl-4)
  assert.equal(lastChildId(16, 1422786560), 1422786560 + 15 * 4096);
  assert.throws(() => childIds(8, 0), RangeError);
});

test('a parent window is past only once now has reached the next parent window', () => {
  const bid12 = 1422798848;
  const last8 = bid12 + 15 * 256;
  assert.equal(parentWindowPast(8, last8, bid12 + 4095), false);
  assert.equal(parentWindowPast(8, last8, bid12 + 4096), true);
  assert.equal(parentWindowPast(8, bid12, bid12 + 4096), true);
  assert.equal(parentWindowPast(20, 0, 1e12), false);
});

test('block paths follow the FLM layout <dataDir>/tmpo/sensor/<sid>/<rid>/<lvl>/<bid>', () => {
  assert.equal(
    blockPath('/data', { sid: SID_A, rid: 0, lvl: 8, bid: 1422801920 }),
    join('/data', 'tmpo', 'sensor', SID_A, '0', '8', '1422801920'),
  );
  assert.equal(
    blockPath('/d', { sid: SID_A, rid: 3, lvl: 20, bid: 1048576 * 1357 }),
    join('/d', 'tmpo', 'sensor', SID_A, '3', '20', String(1048576 * 1357)),
  );
});

test('keys that could not be an FLM block or could leave the store are refused', () => {
  const ok: BlockKey = { sid: SID_A, rid: 0, lvl: 8, bid: 256 };
  assert.doesNotThrow(() => assertBlockKey(ok));
  for (const bad of [
    { ...ok, sid: '../etc' },
    { ...ok, sid: '' },
    { ...ok, sid: 'ABCDEF' },
    { ...ok, rid: -1 },
    { ...ok, rid: 1.5 },
    { ...ok, lvl: 9 as 8 },
    { ...ok, bid: 100 },
    { ...ok, lvl: 12 as const, bid: 256 },
    { ...ok, bid: -256 },
  ]) {
    assert.throws(() => assertBlockKey(bad), RangeError, JSON.stringify(bad));
  }
});

test('keys sort as the sync protocol lists them: rid up, level down, bid up', () => {
  const keys: BlockKey[] = [
    { sid: SID_A, rid: 1, lvl: 8, bid: 512 },
    { sid: SID_A, rid: 0, lvl: 8, bid: 256 },
    { sid: SID_A, rid: 0, lvl: 20, bid: 0 },
    { sid: SID_A, rid: 0, lvl: 8, bid: 0 },
    { sid: SID_B, rid: 0, lvl: 8, bid: 0 },
  ];
  assert.deepEqual(
    keys.sort(compareKeys).map((k) => `${k.sid.slice(0, 2)}/${k.rid}/${k.lvl}/${k.bid}`),
    ['c1/0/20/0', 'c1/0/8/0', 'c1/0/8/256', 'c1/1/8/512', 'fe/0/8/0'],
  );
});
