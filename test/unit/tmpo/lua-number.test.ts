import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLuaNumber } from '../../../core/tmpo/lua-number';
import { luaJson } from '../../../core/tmpo/lua-json';

// Expected strings are what Lua 5.1 `tostring` (C "%.14g") prints for the same doubles.
const VECTORS: Array<[number, string]> = [
  [0, '0'],
  [-0, '-0'],
  [3054225, '3054225'],
  [-17, '-17'],
  [99999999999999, '99999999999999'],
  [1e14, '1e+14'],
  [123456789012345, '1.2345678901234e+14'],
  [2 ** 53, '9.007199254741e+15'],
  [1e21, '1e+21'],
  [1e100, '1e+100'],
  [5012.5, '5012.5'],
  [-1234.5, '-1234.5'],
  [0.1 + 0.2, '0.3'],
  [1 / 3, '0.33333333333333'],
  [637840.001, '637840.001'],
  [-0.001, '-0.001'],
  [0.0001, '0.0001'],
  [1e-5, '1e-05'],
  [1.5e-7, '1.5e-07'],
  [2 ** -20, '9.5367431640625e-07'],
  [0.000123456789012345, '0.00012345678901234'],
  [123456789012.345, '123456789012.35'],
  // exact ties at the 15th digit: C rounds half to even, JS's toPrecision would round up
  [1234567890123.25, '1234567890123.2'],
  [1234567890123.75, '1234567890123.8'],
  [99999999999999.5, '1e+14'],
  [5e-324, '4.9406564584125e-324'],
];

test('numbers print as Lua 5.1 tostring (%.14g) prints them', () => {
  for (const [x, expected] of VECTORS) assert.equal(formatLuaNumber(x), expected, `formatLuaNumber(${x})`);
});

test('whole numbers never get a decimal point', () => {
  for (const x of [1, 256, 1422801920, 2147483647, -2147483648]) assert.doesNotMatch(formatLuaNumber(x), /[.e]/);
});

test('non-finite numbers are refused, as no JSON reader could read them', () => {
  assert.throws(() => formatLuaNumber(NaN), RangeError);
  assert.throws(() => formatLuaNumber(Infinity), RangeError);
  assert.throws(() => formatLuaNumber(-Infinity), RangeError);
});

test('luaJson writes compact JSON with luci.json string escapes and key order kept', () => {
  const text = luaJson({ b: 1, a: [1, 2.5, 'x'], name: 'Say "hi"\\ok\n', t: true, n: null, u: undefined, e: {} });
  assert.equal(text, '{"b":1,"a":[1,2.5,"x"],"name":"Say \\u0022hi\\u0022\\u005cok\\u000a","t":true,"n":null,"e":{}}');
  assert.deepEqual(JSON.parse(text).name, 'Say "hi"\\ok\n');
});

test('luaJson leaves non-ASCII text as UTF-8 and escapes DEL', () => {
  assert.equal(luaJson('Küche\u007f'), '"Küche\\u007f"');
});
