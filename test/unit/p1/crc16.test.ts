import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc16Arc, crc16X25, formatCrc } from '../../../core/p1/crc16';
import { prng } from '../../../core/util/prng';
import { fixture, referenceCrc, VALID_CRC } from './fixtures';

test('CRC-16/ARC and CRC-16/X-25 check values of "123456789"', () => {
  assert.equal(crc16Arc('123456789'), 0xbb3d);
  assert.equal(crc16X25('123456789'), 0x906e);
  assert.equal(crc16Arc(Buffer.from('123456789')), 0xbb3d);
  assert.equal(crc16X25(Buffer.from('123456789')), 0x906e);
});

test('CRC of nothing: ARC 0, X-25 0 (init and final xor cancel)', () => {
  assert.equal(crc16Arc(''), 0);
  assert.equal(crc16X25(new Uint8Array(0)), 0);
});

test('the table-driven CRCs agree with bit-at-a-time ones on random data', () => {
  const rnd = prng(7);
  for (let n = 0; n < 300; n++) {
    const bytes = Buffer.alloc(Math.floor(rnd() * 300));
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rnd() * 256);
    assert.equal(crc16Arc(bytes), referenceCrc(bytes, 0xa001, 0, 0));
    assert.equal(crc16X25(bytes), referenceCrc(bytes, 0x8408, 0xffff, 0xffff));
    // A latin1 string gives the same CRC as its bytes, including bytes above 0x7F.
    assert.equal(crc16Arc(bytes.toString('latin1')), crc16Arc(bytes));
  }
});

test('a range of the input can be checksummed in place', () => {
  const s = 'xx123456789yy';
  assert.equal(crc16Arc(s, 2, 11), 0xbb3d);
  assert.equal(crc16X25(Buffer.from(s), 2, 11), 0x906e);
});

test('every valid fixture: CRC-16/ARC from "/" through "!" is the CRC it carries', () => {
  for (const name of VALID_CRC) {
    const t = fixture(name);
    const bang = t.indexOf('!');
    const carried = parseInt(/^[0-9A-F]+/.exec(t.slice(bang + 1))![0], 16);
    assert.equal(crc16Arc(t, 0, bang + 1), carried, name);
  }
  // Spot check against the value printed in the file itself.
  assert.equal(
    formatCrc(crc16Arc(fixture('dsmr42-nl-kaifa.txt'), 0, fixture('dsmr42-nl-kaifa.txt').indexOf('!') + 1)),
    '6796',
  );
});

test('formatCrc pads to four upper-case digits', () => {
  assert.equal(formatCrc(0xb9f), '0B9F');
  assert.equal(formatCrc(0xabcd), 'ABCD');
});
