import { crc32 } from '../util/checksum';
import { uploadProblem, type Reading } from './reading';

/**
 * The upload queue's record: 20 bytes, ts (float64 LE), counter (float64 LE), CRC-32 of those
 * 16 bytes (uint32 LE). Fixed width keeps a torn write from shifting the records after it,
 * makes the backlog a matter of file sizes, and the CRC tells a record that never finished (or
 * a block the disk zero-filled after a power cut) from a real one.
 */
export const RECORD_BYTES = 20;

/** CRC-32 of the 16 bytes at `at`: a record's payload. */
export function recordCrc(view: DataView, at: number): number {
  return crc32(view, at, 16);
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
