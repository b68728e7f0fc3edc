import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  counterToDecimal,
  fraction16Thousandths,
  numberToQ2011,
  q2011Thousandths,
  q2011ToDecimal,
  q2011ToNumber,
} from '../../../core/flx/fixed-point';

test('Q20.11: exact values, sign included', () => {
  assert.equal(q2011ToNumber(0), 0);
  assert.equal(q2011ToNumber(2048), 1);
  assert.equal(q2011ToNumber(-2048), -1);
  assert.equal(q2011ToNumber(-1024), -0.5);
  assert.equal(q2011ToNumber(1), 1 / 2048);
  assert.equal(q2011ToNumber(0x7fffffff), 1048575 + 2047 / 2048);
  assert.equal(q2011ToNumber(-0x80000000), -1048576);
  // the same bits read as unsigned are the same number
  assert.equal(q2011ToNumber(0xffffffff), -1 / 2048);
  assert.equal(q2011ToNumber(0x80000000), -1048576);
});

test('Q20.11 to three decimals: cut toward zero, −0.5 stays −0.5 (flxd printed "-1.500")', () => {
  assert.equal(q2011ToDecimal(-1024), -0.5);
  assert.equal(q2011ToDecimal(1024), 0.5);
  // 1/2048 = 0.000488…: below a thousandth either way, and never −0
  assert.ok(Object.is(q2011ToDecimal(1), 0));
  assert.ok(Object.is(q2011ToDecimal(-1), 0));
  assert.ok(Object.is(q2011Thousandths(-1), 0));
  // 3/2048 = 0.00146…
  assert.equal(q2011ToDecimal(3), 0.001);
  assert.equal(q2011ToDecimal(-3), -0.001);
  // 2047/2048 = 0.99951…: flxd's (2047 × 125) >> 8 = 999
  assert.equal(q2011Thousandths(2047), 999);
  assert.equal(q2011Thousandths(-2047), -999);
  // −1 − 2047/2048 = −1.99951…
  assert.equal(q2011ToDecimal(-4095), -1.999);
  assert.equal(q2011ToDecimal(0x7fffffff), 1048575.999);
  assert.equal(q2011ToDecimal(-0x80000000), -1048576);
  assert.equal(q2011ToDecimal(-0x7fffffff), -1048575.999);
  assert.equal(q2011ToDecimal(471292), 230.123);
});

test('Q20.11 from a number: nearest, and out of range refused', () => {
  assert.equal(numberToQ2011(230.123), 471292);
  assert.equal(numberToQ2011(-0.5), -1024);
  assert.equal(numberToQ2011(1048575.9995), 0x7fffffff);
  assert.equal(numberToQ2011(-1048576), -0x80000000);
  assert.throws(() => numberToQ2011(1048576), RangeError);
  assert.throws(() => numberToQ2011(-1048576.001), RangeError);
  assert.throws(() => numberToQ2011(Number.NaN), RangeError);
});

test('16-bit counter fractions in thousandths, as flxd cuts them', () => {
  assert.equal(fraction16Thousandths(0), 0);
  assert.equal(fraction16Thousandths(0x8000), 500);
  assert.equal(fraction16Thousandths(0xffff), 999);
  assert.equal(fraction16Thousandths(0x2000), 125);
  assert.equal(fraction16Thousandths(66), 1); // 66/65536 = 0.001007
  assert.equal(fraction16Thousandths(65), 0); // 0.000992
  assert.equal(counterToDecimal(123456, 0x8000), 123456.5);
  assert.equal(counterToDecimal(0xffffffff, 0xffff), 4294967295.999);
  assert.equal(counterToDecimal(1000, 0xbe77), 1000.744); // 48759/65536 = 0.744003
});
