/**
 * The reflected CRCs the project checks: CRC-16/ARC and CRC-16/X-25 (P1 telegrams),
 * CRC-16/MODBUS (Kube radio packets) and CRC-32 (the records of the upload queue and the MySQL
 * spool). Reflected CRCs shift right, so a 256-entry table per polynomial does a byte a step;
 * the tables are built once at load.
 *
 * More than one byte goes per step ("slicing by N"): table k holds the CRC of a byte followed
 * by k zero bytes, so the N lookups of a step are independent and the CPU runs them side by
 * side, instead of waiting for each byte's lookup before the next.
 */

/** `slices` 256-entry tables of a reflected CRC back to back: entries [256k, 256k + 256) are table k. */
function slicedTables<T extends Uint16Array | Int32Array>(t: T, poly: number, slices: number): T {
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c;
  }
  for (let k = 1; k < slices; k++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[256 * (k - 1) + i]! >>> 0;
      t[256 * k + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/** polynomial 0x8005 reflected: CRC-16/ARC and CRC-16/MODBUS (which differ in their start value) */
export const CRC16_A001 = slicedTables(new Uint16Array(8 * 256), 0xa001, 8);
/** polynomial 0x1021 reflected: CRC-16/X-25 */
export const CRC16_8408 = slicedTables(new Uint16Array(8 * 256), 0x8408, 8);

/** The CRC-16 register after `bytes[start, end)`, starting from `crc`, with tables from above. */
export function crc16Run(t: Uint16Array, crc: number, bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  for (; i + 8 <= end; i += 8) {
    crc =
      t[1792 + ((crc ^ bytes[i]!) & 0xff)]! ^
      t[1536 + (((crc >>> 8) ^ bytes[i + 1]!) & 0xff)]! ^
      t[1280 + bytes[i + 2]!]! ^
      t[1024 + bytes[i + 3]!]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ t[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** CRC-16/ARC (init 0, no final xor) of `bytes[start, end)`: DSMR 4 and 5 telegrams. */
export const crc16Arc = (bytes: Uint8Array, start = 0, end = bytes.length): number =>
  crc16Run(CRC16_A001, 0, bytes, start, end);

/** CRC-16/X-25 (init 0xFFFF, final xor 0xFFFF) of `bytes[start, end)`: Holley DTSD545 and a few other meters. */
export const crc16X25 = (bytes: Uint8Array, start = 0, end = bytes.length): number =>
  (crc16Run(CRC16_8408, 0xffff, bytes, start, end) ^ 0xffff) & 0xffff;

/** CRC-16/MODBUS (init 0xFFFF, no final xor; avr-libc `_crc16_update`) of `bytes[start, end)`: Kube radio packets and Kube firmware images. */
export const crc16Modbus = (bytes: Uint8Array, start = 0, end = bytes.length): number =>
  crc16Run(CRC16_A001, 0xffff, bytes, start, end);

/** CRC-32 (IEEE 802.3, the one zlib and gzip use), sliced by 4 */
const CRC32 = slicedTables(new Int32Array(4 * 256), 0xedb88320, 4);

/**
 * CRC-32 of the `len` bytes at `at`. The queue and the spool check one per record, millions
 * per drain: this reads the words where they lie, where `zlib.crc32` needs a Buffer made for
 * each record (a third of the drain's reading time).
 */
export function crc32(view: DataView, at: number, len: number): number {
  const t = CRC32;
  let c = -1;
  let i = at;
  for (const end = at + len - 3; i < end; i += 4) {
    c ^= view.getInt32(i, true);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (const end = at + len; i < end; i++) c = (c >>> 8) ^ t[(c ^ view.getUint8(i)) & 0xff]!;
  return ~c >>> 0;
}

/** CRC-32 of a string's UTF-8 bytes. */
export function crc32OfText(text: string): number {
  const b = Buffer.from(text, 'utf8');
  return crc32(new DataView(b.buffer, b.byteOffset, b.byteLength), 0, b.length);
}
