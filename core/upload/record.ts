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
 * checks one per record, millions per drain: this reads the words where they lie, where
 * `zlib.crc32` needs a Buffer made for each record (a third of the drain's reading time).
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
export function recordCrc(view: DataView, at: number): number {
  const [t0, t1, t2, t3] = CRC_TABLES;
  let c = ~view.getInt32(at, true);
  c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  c ^= view.getInt32(at + 4, true);
  c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  c ^= view.getInt32(at + 8, true);
  c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  c ^= view.getInt32(at + 12, true);
  c = t3[c & 0xff]! ^ t2[(c >>> 8) & 0xff]! ^ t1[(c >>> 16) & 0xff]! ^ t0[c >>> 24]!;
  return ~c >>> 0;
}

/** A DataView over the bytes of `buf`, for the functions below. */
export function recordView(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function encodeRecord(view: DataView, at: number, ts: number, counter: number): void {
  view.setFloat64(at, ts, true);
  view.setFloat64(at + 8, counter, true);
  view.setUint32(at + 16, recordCrc(view, at), true);
}

/** The reading in the record at `at`, or undefined when it is torn, damaged or could never be uploaded. */
export function decodeRecord(view: DataView, at: number): Reading | undefined {
  if (recordCrc(view, at) !== view.getUint32(at + 16, true)) return undefined;
  const ts = view.getFloat64(at, true);
  const counter = view.getFloat64(at + 8, true);
  if (uploadProblem(ts, counter)) return undefined;
  return [ts, counter];
}
