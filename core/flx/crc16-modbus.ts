/**
 * CRC-16/MODBUS, the check on FluksoKube radio packets (flm-firmware.md §8.1): reflected
 * polynomial 0xA001, init 0xFFFF, no final xor (avr-libc `_crc16_update`). kubed also uses it
 * for firmware images offered to a Kube (§8.2).
 */

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/MODBUS of `data[start, end)`. */
export function crc16Modbus(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ data[i]!) & 0xff]!;
  return crc;
}
