import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc8Dallas } from '../../../core/flx/crc8';
import { crc16Modbus } from '../../../core/util/checksum';
import { fletcher16 } from '../../../core/flx/fletcher';
import { prng } from '../../../core/util/prng';
import { referenceFletcher } from './support';

/** Bit at a time, straight from the definitions: the tables must agree with these. */
function bitwiseCrc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x8c : crc >> 1;
  }
  return crc;
}

function bitwiseCrc16Modbus(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0xa001 : crc >> 1;
  }
  return crc;
}

test('CRC-8 Dallas: the documented check values gd 0x30, gh 0x93, ct 0x96, and the catalogue check 0xA1', () => {
  assert.equal(crc8Dallas('gd'), 0x30);
  assert.equal(crc8Dallas('gh'), 0x93);
  assert.equal(crc8Dallas('ct'), 0x96);
  assert.equal(crc8Dallas('123456789'), 0xa1);
  assert.equal(crc8Dallas(Buffer.from('gd')), 0x30);
  assert.equal(crc8Dallas('xxgdxx', 2, 4), 0x30);
  assert.equal(crc8Dallas(''), 0);
});

test('CRC-16/MODBUS: catalogue check 0x4B37, and 0xFFFF for nothing', () => {
  assert.equal(crc16Modbus(Buffer.from('123456789')), 0x4b37);
  assert.equal(crc16Modbus(new Uint8Array(0)), 0xffff);
});

test('table CRCs agree with bit-at-a-time ones on random data', () => {
  const rnd = prng(11);
  for (let n = 0; n < 300; n++) {
    const bytes = Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256));
    assert.equal(crc8Dallas(bytes), bitwiseCrc8(bytes));
    assert.equal(crc16Modbus(bytes), bitwiseCrc16Modbus(bytes));
  }
});

test('Fletcher-16 by hand: type+len of a ping (00 00) gives FF FF', () => {
  // sum1 stays 0xFF; sum2 = 0xFF + 0xFF + 0xFF = 0x2FD, folded 0xFD + 2 = 0xFF.
  assert.equal(fletcher16(Uint8Array.of(0, 0)), 0xffff);
  assert.deepEqual(referenceFletcher([0, 0]), [0xff, 0xff]);
});

test('Fletcher-16 by hand: time_step 1234567890 (04 04 D2 02 96 49) gives F3 BC', () => {
  // sum1: FF→103→107→1D9→1DB→271→2BA, folded BC; sum2: FF→202→309→4E2→6BD→92E→BE8, folded F3.
  assert.equal(fletcher16(Uint8Array.of(4, 4, 0xd2, 0x02, 0x96, 0x49)), 0xf3bc);
  assert.deepEqual(referenceFletcher([4, 4, 0xd2, 0x02, 0x96, 0x49]), [0xf3, 0xbc]);
});

test('Fletcher-16 agrees with the reference routine on random data of every length up to 300, and on all-0xFF runs', () => {
  const rnd = prng(12);
  for (let len = 0; len <= 300; len++) {
    for (let k = 0; k < 5; k++) {
      const bytes = Array.from({ length: len }, () => Math.floor(rnd() * 256));
      const [s2, s1] = referenceFletcher(bytes);
      assert.equal(fletcher16(Uint8Array.from(bytes)), (s2 << 8) | s1, `length ${len}`);
    }
    // worst case for the sums' size: every byte 0xFF
    const ff = new Array<number>(len).fill(0xff);
    const [s2, s1] = referenceFletcher(ff);
    const got = fletcher16(Uint8Array.from(ff));
    assert.equal(got, (s2 << 8) | s1);
    assert.ok(got >>> 8 <= 0xff && (got & 0xff) <= 0xff);
  }
});

test('Fletcher-16 over a sub-range equals Fletcher-16 of the slice', () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
  assert.equal(fletcher16(bytes, 10, 73), fletcher16(bytes.slice(10, 73)));
});
