import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { prng } from '../../../core/util/prng';
import { decodeRecord, encodeRecord, RECORD_BYTES, recordCrc, recordView } from '../../../core/upload/record';

test('recordCrc is zlib CRC-32: queues written before it (with zlib.crc32) read the same', () => {
  const rnd = prng(7);
  const buf = Buffer.alloc(64 * RECORD_BYTES + 4);
  // At odd offsets too: a record may sit anywhere in a read.
  for (let i = 0; i < 5000; i++) {
    const at = Math.floor(rnd() * (buf.length - 16));
    for (let k = 0; k < 16; k++) buf[at + k] = Math.floor(rnd() * 256);
    assert.equal(recordCrc(recordView(buf), at), crc32(buf.subarray(at, at + 16)), `payload at ${at}`);
  }
  const zeros = Buffer.alloc(16);
  assert.equal(recordCrc(recordView(zeros), 0), crc32(zeros));
  assert.notEqual(recordCrc(recordView(zeros), 0), 0, 'a zero-filled record never passes');
});

test('a record as the old encoder wrote it decodes; a flipped bit or a zeroed record does not', () => {
  const old = Buffer.alloc(RECORD_BYTES);
  old.writeDoubleLE(1449986400, 0);
  old.writeDoubleLE(12345, 8);
  old.writeUInt32LE(crc32(old.subarray(0, 16)), 16);
  assert.deepEqual(decodeRecord(recordView(old), 0), [1449986400, 12345]);

  const mine = Buffer.alloc(RECORD_BYTES * 2);
  const view = recordView(mine);
  encodeRecord(view, RECORD_BYTES, 1449986400, 12345);
  assert.deepEqual(mine.subarray(RECORD_BYTES), old, 'byte for byte the same record');
  for (let bit = 0; bit < RECORD_BYTES * 8; bit++) {
    const copy = Buffer.from(old);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(decodeRecord(recordView(copy), 0), undefined, `bit ${bit} flipped`);
  }
  assert.equal(decodeRecord(recordView(Buffer.alloc(RECORD_BYTES)), 0), undefined);
});

test('a record with a valid CRC but a reading that could never be uploaded is not decoded', () => {
  const buf = Buffer.alloc(RECORD_BYTES);
  encodeRecord(recordView(buf), 0, 1449986400, 1.5);
  assert.equal(decodeRecord(recordView(buf), 0), undefined);
});
