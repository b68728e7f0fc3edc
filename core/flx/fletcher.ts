/**
 * The FLM03 frame checksum (docs/protocols/sensor-board.md#fletcher-16): Fletcher-16 with both sums
 * starting at 0xFF, folded (end-around carry) after every 20 bytes and twice at the end.
 *
 * Folding is arithmetic modulo 255 in which 0x00 and 0xFF both stand for zero, and which of the
 * two a sum ends up as depends on the fold points. The board and flxd compare the bytes as they
 * come out of exactly this procedure, so it is reproduced step for step rather than replaced by
 * a `% 255`: a mathematically equal checksum with the other zero would be rejected by the board.
 *
 * The 20-byte chunk is what keeps the C original's 16-bit sums from overflowing (sum1 enters a
 * chunk at most 0x114 and sum2 at most 0x1FE, so sum2 stays below 59,600), so plain JS numbers
 * give the same bytes.
 */

const CHUNK = 20;

/** `sum2 << 8 | sum1` over `data[start, end)`; the frame carries sum2 first, then sum1. */
export function fletcher16(data: Uint8Array, start = 0, end = data.length): number {
  let sum1 = 0xff;
  let sum2 = 0xff;
  let i = start;
  while (i < end) {
    const stop = Math.min(end, i + CHUNK);
    for (; i < stop; i++) {
      sum1 += data[i]!;
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xff) + (sum1 >>> 8);
    sum2 = (sum2 & 0xff) + (sum2 >>> 8);
  }
  sum1 = (sum1 & 0xff) + (sum1 >>> 8);
  sum2 = (sum2 & 0xff) + (sum2 >>> 8);
  return (sum2 << 8) | sum1;
}
