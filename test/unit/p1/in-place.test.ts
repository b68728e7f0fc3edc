import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTelegram } from '../../../core/p1/check';
import { splitTelegram } from '../../../core/p1/cosem';
import { crc16Arc } from '../../../core/p1/crc16';
import { P1Framer } from '../../../core/p1/framer';
import { parseTelegram } from '../../../core/p1/parse';
import { parseP1Timestamp } from '../../../core/p1/time';
import { decodeHexText, parseInteger, parseQuantity } from '../../../core/p1/values';
import { fixture, withCrc } from './fixtures';

/**
 * The parser reads common values straight from the telegram's bytes and falls back on the
 * string readers for anything unusual; the check and the parser share one scan of the lines.
 * Whatever path a value takes, the answer must be the string readers' answer.
 */

const telegramWith = (line: string): string => `/ABC5\\TEST\r\n\r\n${line}\r\n!\r\n`;

test('quantities read in place agree with parseQuantity, odd shapes included', () => {
  const groups = [
    '00.244*kW',
    '-0.000*kW',
    '+1.5*kW',
    '.5*kW',
    '5.*kW',
    '5*',
    '12',
    '1234567890123456*W',
    '9007199254740993*W',
    '12345678901234567890*W',
    '0.1234567890123456789012345*kW',
    '0.30000000000000004*kW',
    ' 5*kW',
    '5 *kW',
    '5* kW ',
    '*kW',
    '-*kW',
    '1.2.3*kW',
    '1e3*kW',
    '0x10*kW',
    '5*m3',
    '5*m\xb3',
    '5*kvarh',
    '5*k\u0128W',
    '5\u2000*kW',
    '',
    '.',
  ];
  for (const g of groups) {
    const t = parseTelegram(telegramWith(`1-0:1.7.0(${g})`));
    const expected = parseQuantity(g);
    if (expected) {
      assert.deepEqual(t.electricity.power.delivered, expected, JSON.stringify(g));
      assert.ok(Object.is(t.electricity.power.delivered!.value, expected.value), JSON.stringify(g));
    } else {
      assert.equal(t.electricity.power.delivered, undefined, JSON.stringify(g));
      assert.deepEqual(t.unknown['1-0:1.7.0'], [g]);
    }
  }
});

test('counts, timestamps and hex-encoded ids read in place agree with the string readers', () => {
  for (const g of ['0001', '', ' 1', '1.5', '123456789012345', '1234567890123456', '-1', '\u0661']) {
    const expected = parseInteger(g);
    const t = parseTelegram(telegramWith(`0-0:96.14.0(${g})`));
    if (expected === null) assert.deepEqual(t.unknown['0-0:96.14.0'], [g], JSON.stringify(g));
    else assert.equal(t.electricity.activeTariff, expected, JSON.stringify(g));
  }
  for (const g of [
    '200512135409S',
    '200512135409',
    ' 200512135409S',
    '200512135409X',
    '2005121354S',
    '000101000000W',
    '200229235959S',
    '',
    '20051213540\u0661S',
  ]) {
    assert.deepEqual(parseTelegram(telegramWith(`0-0:1.0.0(${g})`)).timestamp, parseP1Timestamp(g), JSON.stringify(g));
  }
  for (const g of ['3153414733313031303231363035', '48690A', 'abc', ' 4142 ', '3q']) {
    assert.equal(parseTelegram(telegramWith(`0-0:96.1.1(${g})`)).equipmentId, decodeHexText(g), JSON.stringify(g));
  }
});

test('characters above U+00FF: the CRC counts their low byte, the line check and the parser see no structure in them', () => {
  // U+0128's low byte is "(": as a byte it would open a group, as a character it is text.
  const body = '/ABC5\\TEST\r\n\r\n0-0:96.13.0(a\u0128b)\r\n1-0:1.7.0(00.244*kW)\r\n!';
  const t = withCrc(body, crc16Arc(Buffer.from(body, 'latin1')));
  assert.equal(checkTelegram(t).status, 'valid');
  const parsed = parseTelegram(t);
  assert.equal(parsed.messages?.text, 'a\u0128b');
  assert.deepEqual(parsed.electricity.power.delivered, { value: 0.244, unit: 'kW' });
  // Where the line needs a "(", the wide character is no substitute.
  const broken = withCrc(body.replace('1-0:1.7.0(', '1-0:1.7.0\u0128'), crc16Arc(Buffer.from(body, 'latin1')));
  assert.equal(checkTelegram(broken).status, 'malformed');
  assert.deepEqual(splitTelegram(broken).junk, ['1-0:1.7.0\u012800.244*kW)']);
});

test('checking one text and parsing another, in any order, gives what each gives alone', () => {
  const a = fixture('dsmr5-be-fluvius.txt');
  const b = fixture('dsmr42-nl-kaifa.txt');
  const alone = { a: parseTelegram(a), b: parseTelegram(b) };
  assert.equal(checkTelegram(a).status, 'valid');
  assert.deepEqual(parseTelegram(b), alone.b);
  assert.equal(checkTelegram(b).status, 'valid');
  // A check that stops at the CRC does not scan: the parse must not use the scan before it.
  assert.equal(checkTelegram(a.replace('!3AD7', '!3AD8')).status, 'mismatch');
  assert.deepEqual(parseTelegram(a), alone.a);
  assert.deepEqual(parseTelegram(b), alone.b);
  // An equal text in another string gives the same result.
  assert.deepEqual(parseTelegram(Buffer.from(a, 'latin1').toString('latin1')), alone.a);
});

test('a telegram far larger than the reused buffers, and a very long hex group, are read like small ones', () => {
  const lines: string[] = [];
  for (let i = 0; i < 6000; i++) lines.push(`1-0:${i % 1000}.${Math.floor(i / 1000)}.9(${i})`);
  const message = Buffer.from('x'.repeat(30_000)).toString('hex');
  lines.push(`0-0:96.13.0(${message})`, '1-0:1.7.0(00.244*kW)');
  const body = `/ABC5\\TEST\r\n\r\n${lines.join('\r\n')}\r\n!`;
  const t = withCrc(body);
  assert.ok(t.length > 128 * 1024);
  assert.equal(checkTelegram(t).status, 'valid');
  const parsed = parseTelegram(t);
  assert.equal(Object.keys(parsed.unknown).length, 6000);
  assert.deepEqual(parsed.unknown['1-0:999.5.9'], ['5999']);
  assert.equal(parsed.messages?.text, 'x'.repeat(30_000));
  assert.deepEqual(parsed.electricity.power.delivered, { value: 0.244, unit: 'kW' });
  // And a small one right after still reads right.
  assert.equal(parseTelegram(fixture('dsmr5-nl.txt')).equipmentId, 'K8EG004046395507');
});

test('the framer drops a NUL before CR LF in its own buffer: the chunk it was given is not changed', () => {
  const kaifa = fixture('dsmr42-nl-kaifa.txt');
  const chunk = Buffer.from(kaifa.replace('!6796\r\n', '!6796\0\r\n'), 'latin1');
  const copy = Buffer.from(chunk);
  assert.deepEqual(new P1Framer().push(chunk), [kaifa]);
  assert.deepEqual(chunk, copy);
});

test('codes are matched as written: leading zeros and billing periods other than 255 are other codes', () => {
  const t = parseTelegram(
    telegramWith(
      [
        '1-0:1.8.1*255(000001.000*kWh)',
        '01-0:1.8.2(000002.000*kWh)',
        '1-0:01.8.2(000003.000*kWh)',
        '1-0:2.8.1*25(000004.000*kWh)',
        '1-0:2.8.1*0255(000005.000*kWh)',
        '0-01:24.1.0(003)',
        '0-01:24.2.1(200512134558S)(00112.384*m3)',
        '0-2:024.2.1(200512134558S)(1*m3)',
        '0-10:24.1.0(007)',
        '0-3:24.2.1*1(200512134558S)(1*m3)',
      ].join('\r\n'),
    ),
  );
  assert.deepEqual(t.electricity.delivered, { tariff1: { value: 1, unit: 'kWh' } });
  assert.deepEqual(t.electricity.returned, {});
  assert.deepEqual(Object.keys(t.unknown).sort(), [
    '0-2:024.2.1',
    '0-3:24.2.1*1',
    '01-0:1.8.2',
    '1-0:01.8.2',
    '1-0:2.8.1*25',
  ]);
  assert.deepEqual(
    t.mbus.map((d) => [d.channel, d.medium, d.reading?.value]),
    [
      [1, 'gas', 112.384],
      [10, 'water', undefined],
    ],
  );
  assert.deepEqual(t.warnings, [
    'unreadable line "1-0:2.8.1*0255(000005.000*kWh)"',
    '0-2:024.2.1: cannot read (200512134558S)(1*m3)',
    '0-3:24.2.1*1: cannot read (200512134558S)(1*m3)',
  ]);
  assert.deepEqual(splitTelegram(telegramWith('1-0:2.8.1*0255(5)')).junk, ['1-0:2.8.1*0255(5)']);
});
