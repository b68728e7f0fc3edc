import { Latin1Scratch } from './latin1';

/**
 * The two CRC-16 flavours found on P1 ports (ecosystem.md §E.2, §G.1). Both are reflected, so
 * table lookups do the work; the tables are built once at load.
 *
 * - CRC-16/ARC: polynomial 0x8005 (0xA001 reflected), init 0, no final xor. DSMR 4 and 5.
 * - CRC-16/X-25: polynomial 0x1021 (0x8408 reflected), init 0xFFFF, final xor 0xFFFF.
 *   Holley DTSD545 and a few other meters use it instead.
 *
 * Eight bytes go per step ("slicing by 8"): table k holds the CRC of a byte followed by k zero
 * bytes, so the eight lookups are independent and the CPU runs them side by side, instead of
 * waiting for each byte's lookup before the next, as the byte-at-a-time loop must.
 */

/** Eight 256-entry tables back to back: entries [256k, 256k + 256) are table k. */
function slicedTables(poly: number): Uint16Array {
  const t = new Uint16Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  for (let k = 1; k < 8; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[256 * (k - 1) + i]!;
      t[256 * k + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

const ARC_TABLES = slicedTables(0xa001);
const X25_TABLES = slicedTables(0x8408);

/** Bytes, or a string whose characters each stand for one byte (latin1, as the framer emits). */
export type CrcInput = Uint8Array | string;

const scratch = new Latin1Scratch();

/** The CRC register after `bytes[start, end)`, starting from `crc`. */
function crc16Run(t: Uint16Array, crc: number, bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  for (; i + 8 <= end; i += 8) {
    crc =
      t[1792 + ((crc ^ bytes[i]!) & 0xff)]! ^ t[1536 + (((crc >>> 8) ^ bytes[i + 1]!) & 0xff)]! ^
      t[1280 + bytes[i + 2]!]! ^ t[1024 + bytes[i + 3]!]! ^ t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^ t[256 + bytes[i + 6]!]! ^ t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ t[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** A character counts by its low byte, as a latin1 Buffer would hold it. */
function run(t: Uint16Array, init: number, data: CrcInput, start: number, end: number): number {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= data.length)) {
    return runEach(t, init, data, start, end);
  }
  if (end <= start) return init;
  if (typeof data !== 'string') return crc16Run(t, init, data, start, end);
  return crc16Run(t, init, scratch.bytes(start === 0 && end === data.length ? data : data.slice(start, end)), 0, end - start);
}

/** A range reaching outside the data counts the missing positions as zero bytes, as it always has. */
function runEach(t: Uint16Array, init: number, data: CrcInput, start: number, end: number): number {
  let crc = init;
  for (let i = start; i < end; i++) {
    const b = typeof data === 'string' ? data.charCodeAt(i) : data[i]!;
    crc = (crc >>> 8) ^ t[(crc ^ b) & 0xff]!;
  }
  return crc;
}

/** CRC-16/ARC of `data[start, end)`. */
export function crc16Arc(data: CrcInput, start = 0, end = data.length): number {
  return run(ARC_TABLES, 0, data, start, end);
}

/** CRC-16/X-25 of `data[start, end)`. */
export function crc16X25(data: CrcInput, start = 0, end = data.length): number {
  return (run(X25_TABLES, 0xffff, data, start, end) ^ 0xffff) & 0xffff;
}

/** CRC-16/ARC and CRC-16/X-25 of bytes already in hand, for the telegram check. */
export const arcOfBytes = (bytes: Uint8Array, start: number, end: number): number => crc16Run(ARC_TABLES, 0, bytes, start, end);
export const x25OfBytes = (bytes: Uint8Array, start: number, end: number): number =>
  (crc16Run(X25_TABLES, 0xffff, bytes, start, end) ^ 0xffff) & 0xffff;

/** Four upper-case hex digits, as a DSMR telegram prints its CRC. */
export function formatCrc(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}
