/**
 * CRC-8 Dallas/Maxim ("iButton", 1-Wire) as the FLM02 sensor board uses it on its control messages
 * (docs/protocols/sensor-board.md#crc-8): reflected polynomial 0x8C, init 0, no final xor. The AVR
 * computes it with `_crc_ibutton_update`, the main board with a 256-entry table; a table it is.
 */

const TABLE = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x8c : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-8 Dallas of `data[start, end)`; a string counts one byte per character (ASCII). */
export function crc8Dallas(data: Uint8Array | string, start = 0, end = data.length): number {
  let crc = 0;
  if (typeof data === 'string') {
    for (let i = start; i < end; i++) crc = TABLE[(crc ^ data.charCodeAt(i)) & 0xff]!;
  } else {
    for (let i = start; i < end; i++) crc = TABLE[crc ^ data[i]!]!;
  }
  return crc;
}
