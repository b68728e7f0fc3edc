import { uploadProblem, type Reading } from './reading';

/**
 * The upload queue's record: 20 bytes, ts (float64 LE), counter (float64 LE), CRC-32 of those
 * 16 bytes (uint32 LE). Fixed width keeps a torn write from shifting the records after it,
 * makes the backlog a matter of file sizes, and the CRC tells a record that never finished (or
 * a block the disk zero-filled after a power cut) from a real one.
 */
export const RECORD_BYTES = 20;

/**
 * CRC-32 (IEEE 802.3, the one zlib and gzip use), four bytes a step ("slicing by 4"). The queue
 * checks one per record, millions per drain: this reads the bytes where they lie, where
 * `zlib.crc32` needs a Buffer view made for each record.
 */
const CRC_TABLES = (() => {
  const t = Array.from({ length: 4 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 4; k++) t[k]![n] = (t[k - 1]![n]! >>> 8) ^ t[0]![t[k - 1]![n]! & 0xff]!;
  }
  return t as [Int32Array, Int32Array, Int32Array, Int32Array];
})();

/** CRC-32 of the 16 bytes at `at`: a record's payload. */
export function recordCrc(buf: Uint8Array, at: number): number {
  const [t0, t1, t2, t3] = CRC_TABLES;
  let c = -1;
  for (let i = at; i < at + 16; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  }
  return ~c >>> 0;
}

export function encodeRecord(buf: Buffer, at: number, ts: number, counter: number): void {
  buf.writeDoubleLE(ts, at);
  buf.writeDoubleLE(counter, at + 8);
  buf.writeUInt32LE(recordCrc(buf, at), at + 16);
}

/** The reading in the record at `at`, or undefined when it is torn, damaged or could never be uploaded. */
export function decodeRecord(buf: Buffer, at: number): Reading | undefined {
  if (recordCrc(buf, at) !== buf.readUInt32LE(at + 16)) return undefined;
  const ts = buf.readDoubleLE(at);
  const counter = buf.readDoubleLE(at + 8);
  if (uploadProblem(ts, counter)) return undefined;
  return [ts, counter];
}
