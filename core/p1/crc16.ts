import { CRC16_8408, CRC16_A001, crc16Run } from '../util/checksum';
import { Latin1Scratch } from './latin1';

/**
 * The two CRC-16 flavours found on P1 ports: CRC-16/ARC (DSMR 4 and 5) and CRC-16/X-25 (Holley
 * DTSD545 and a few other meters), over bytes or over the latin1 strings the framer emits.
 */

const ARC_TABLES = CRC16_A001;
const X25_TABLES = CRC16_8408;

/** Bytes, or a string whose characters each stand for one byte (latin1, as the framer emits). */
export type CrcInput = Uint8Array | string;

const scratch = new Latin1Scratch();

/** A character counts by its low byte, as a latin1 Buffer would hold it. */
function run(t: Uint16Array, init: number, data: CrcInput, start: number, end: number): number {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end <= data.length)) {
    return runEach(t, init, data, start, end);
  }
  if (end <= start) return init;
  if (typeof data !== 'string') return crc16Run(t, init, data, start, end);
  return crc16Run(
    t,
    init,
    scratch.bytes(start === 0 && end === data.length ? data : data.slice(start, end)),
    0,
    end - start,
  );
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
export { crc16Arc as arcOfBytes, crc16X25 as x25OfBytes } from '../util/checksum';

/** Four upper-case hex digits, as a DSMR telegram prints its CRC. */
export function formatCrc(crc: number): string {
  return crc.toString(16).toUpperCase().padStart(4, '0');
}
