/**
 * The two CRC-16 flavours found on P1 ports (ecosystem.md §E.2, §G.1). Both are reflected, so
 * one byte-at-a-time table per polynomial does the work; the table is built once at load.
 *
 * - CRC-16/ARC: polynomial 0x8005 (0xA001 reflected), init 0, no final xor. DSMR 4 and 5.
 * - CRC-16/X-25: polynomial 0x1021 (0x8408 reflected), init 0xFFFF, final xor 0xFFFF.
 *   Holley DTSD545 and a few other meters use it instead.
 */

function reflectedTable(poly: number): Uint16Array {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    table[i] = c;
  }
  return table;
}

const ARC_TABLE = reflectedTable(0xa001);
const X25_TABLE = reflectedTable(0x8408);

/** Bytes, or a string whose characters each stand for one byte (latin1, as the framer emits). */
export type CrcInput = Uint8Array | string;

function run(table: Uint16Array, init: number, data: CrcInput, start: number, end: number): number {
  let crc = init;
  if (typeof data === 'string') {
    for (let i = start; i < end; i++) crc = (crc >>> 8) ^ table[(crc ^ data.charCodeAt(i)) & 0xff]!;
  } else {
    for (let i = start; i < end; i++) crc = (crc >>> 8) ^ table[(crc ^ data[i]!) & 0xff]!;
  }
  return crc;
}

/** CRC-16/ARC of `data[start, end)`. */
export function crc16Arc(data: CrcInput, start = 0, end = data.length): number {
  return run(ARC_TABLE, 0, data, start, end);
}

/** CRC-16/X-25 of `data[start, end)`. */
export function crc16X25(data: CrcInput, start = 0, end = data.length): number {
  return (run(X25_TABLE, 0xffff, data, start, end) ^ 0xffff) & 0xffff;
}

/** Four upper-case hex digits, as a DSMR telegram prints its CRC. */
export function formatCrc(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}
