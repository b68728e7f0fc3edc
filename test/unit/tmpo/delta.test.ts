import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenBlock, roundDelta } from '../../../core/tmpo/delta';
import { formatLuaNumber } from '../../../core/tmpo/lua-number';
import { blockJson } from '../../../core/tmpo/codec';

// docs/protocols/tmpo.md#value-deltas: a non-integer delta gets +0.0005 and is cut down to a
// multiple of 0.001. The cut is Lua's `x - x % 0.001`, and Lua's % floors, so negative deltas go
// down: half-up, towards +inf.
// Expected values were checked against Lua 5.1.
const ROUNDING: Array<[number, string]> = [
  [1, '1'],
  [-3, '-3'],
  [0.5, '0.5'],
  [0.0625, '0.063'],
  [-0.0625, '-0.062'],
  [2.9375, '2.938'],
  [-1.1875, '-1.187'],
  [0.0009765625, '0.001'],
  [-0.0009765625, '-0.001'],
  [0.0004765625, '0'],
  [0.0014, '0.001'],
  [0.0015, '0.002'],
  [-0.0015, '-0.001'],
  [1.0625, '1.063'],
  [12.3456, '12.346'],
  [-12.3456, '-12.346'],
  [1 / 3, '0.333'],
  [-1 / 3, '-0.333'],
];

test('deltas round half-up to 3 decimals exactly as tmpod does', () => {
  for (const [delta, expected] of ROUNDING)
    assert.equal(formatLuaNumber(roundDelta(delta)), expected, `roundDelta(${delta})`);
});

test('each delta is taken from the previous raw value, as tmpod push8 does', () => {
  // 0.0014 per step: from the raw value every delta rounds to 0.001 (the FLM's choice); taking it
  // from the previous rounded value would have given 0.001, 0.002, 0.001.
  const b = new OpenBlock(1000, 5012.5, {});
  for (const [i, v] of [5012.5014, 5012.5028, 5012.5042].entries()) assert.ok(b.append(1001 + i, v));
  assert.equal(
    blockJson(b.toBlock()),
    '{"h":{"head":[1000,5012.5],"tail":[1003,5012.5042],"vsn":1,"cfg":{}},"t":[0,1,1,1],"v":[0,0.001,0.001,0.001]}',
  );
});

test('an open block refuses a sample that is not after its tail and stays unchanged', () => {
  const b = new OpenBlock(1000, 1, {});
  assert.ok(b.append(1005, 2));
  const before = blockJson(b.toBlock());
  assert.equal(b.append(1005, 3), false);
  assert.equal(b.append(1001, 3), false);
  assert.equal(blockJson(b.toBlock()), before);
  assert.equal(b.size, 2);
});

test('an open block copies its cfg, so later edits by the caller do not leak in', () => {
  const cfg: Record<string, unknown> = { function: 'main' };
  const b = new OpenBlock(1000, 1, cfg);
  cfg['function'] = 'changed';
  assert.deepEqual(b.toBlock().h.cfg, { function: 'main' });
});

test('an open block refuses fractional times and non-finite values', () => {
  assert.throws(() => new OpenBlock(1000.5, 1, {}), RangeError);
  assert.throws(() => new OpenBlock(1000, NaN, {}), RangeError);
  const b = new OpenBlock(1000, 1, {});
  assert.throws(() => b.append(1001, Infinity), RangeError);
});
