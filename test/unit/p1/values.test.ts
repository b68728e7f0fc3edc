import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHexText, normalizeUnit, parseInteger, parseNumber, parseQuantity } from '../../../core/p1/values';
import { splitGroups, splitTelegram } from '../../../core/p1/cosem';

test('numbers: DSMR decimals only, never hex, exponents or empty text', () => {
  const cases: Array<[string, number | null]> = [
    ['000123.456', 123.456],
    ['-063', -63],
    ['+1.5', 1.5],
    ['.5', 0.5],
    ['5.', 5],
    [' 7 ', 7],
    ['00052185.7825309', 52185.7825309],
    ['', null],
    ['.', null],
    ['-', null],
    ['1e3', null],
    ['0x10', null],
    ['1.2.3', null],
    ['1 2', null],
    ['Infinity', null],
    ['NaN', null],
  ];
  for (const [text, expected] of cases) assert.equal(parseNumber(text), expected, JSON.stringify(text));
});

test('quantities keep their unit; m3 becomes m³; a bare number has unit null', () => {
  assert.deepEqual(parseQuantity('001581.123*kWh'), { value: 1581.123, unit: 'kWh' });
  assert.deepEqual(parseQuantity('00981.443*m3'), { value: 981.443, unit: 'm³' });
  assert.deepEqual(parseQuantity('00007137.694*kWh '), { value: 7137.694, unit: 'kWh' });
  assert.deepEqual(parseQuantity('00000000'), { value: 0, unit: null });
  assert.deepEqual(parseQuantity('12*'), { value: 12, unit: null });
  assert.equal(parseQuantity('abc*V'), null);
  assert.equal(parseQuantity(''), null);
  assert.equal(normalizeUnit('m3'), 'm³');
  assert.equal(normalizeUnit(' GJ '), 'GJ');
});

test('integers: counts and codes, nothing fractional', () => {
  assert.equal(parseInteger('00015'), 15);
  assert.equal(parseInteger('0001'), 1);
  assert.equal(parseInteger('1.5'), null);
  assert.equal(parseInteger(''), null);
  assert.equal(parseInteger('-1'), null);
});

test('hex-encoded ASCII is decoded only when it is that', () => {
  assert.equal(decodeHexText('4530303434303037333832323436303139'), 'E0044007382246019');
  assert.equal(decodeHexText('3960221976967177082151037881335713'), '3960221976967177082151037881335713');
  assert.equal(decodeHexText('09610'), '09610');
  assert.equal(decodeHexText('1ESY1313002565'), '1ESY1313002565');
  assert.equal(decodeHexText('48690A'), '48690A', 'a line break is not an id');
  assert.equal(decodeHexText('48690A', true), 'Hi\n', 'but may be part of a message');
  assert.equal(decodeHexText(''), '');
});

test('COSEM lines: groups, continuations, *255 dropped, other billing periods kept, junk set aside', () => {
  assert.deepEqual(splitGroups('(a)(b*c)()'), ['a', 'b*c', '']);
  assert.equal(splitGroups('(a)x(b)'), null);
  assert.equal(splitGroups('(a'), null);
  assert.equal(splitGroups('(a(b))'), null);
  const lines = splitTelegram(
    '/ESY5Q3DB1024 V3.04\r\n\r\n1-0:1.8.0*255(00052185.7825309*kWh)\r\n1-0:1.8.0*101(1*kWh)\r\n' +
      '0-1:24.3.0(090212160000)(00)(60)(1)(0-1:24.2.1)(m3)\r\n(00001.001)\r\nnonsense\r\n1-0:1.7.0\r\n!ABCD\r\n1-0:2.7.0(1)\r\n',
  );
  assert.equal(lines.header, 'ESY5Q3DB1024 V3.04');
  assert.equal(lines.crc, 'ABCD');
  assert.deepEqual(lines.objects, [
    { obis: '1-0:1.8.0', channel: 0, values: ['00052185.7825309*kWh'] },
    { obis: '1-0:1.8.0*101', channel: 0, values: ['1*kWh'] },
    { obis: '0-1:24.3.0', channel: 1, values: ['090212160000', '00', '60', '1', '0-1:24.2.1', 'm3', '00001.001'] },
  ]);
  assert.deepEqual(lines.junk, ['nonsense', '1-0:1.7.0']);
});
