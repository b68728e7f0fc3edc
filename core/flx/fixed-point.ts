/**
 * The FLM03 board's fixed-point numbers (docs/protocols/sensor-board.md#flm03-message-types) and
 * how flxd turns them into the three-decimal values it publishes.
 *
 * Values come out as thousandths (integers) first and are divided once at the end, so a counter
 * like 123456.742 is the double nearest to that decimal, not a sum of binary fractions.
 */

const Q11 = 2048;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Exact value of a signed Q20.11 number (1 sign, 20 integer, 11 fraction bits). */
export function q2011ToNumber(raw: number): number {
  return (raw | 0) / Q11;
}

/**
 * A Q20.11 number in thousandths, cut toward zero like flxd's `(frac × 125) >> 8`.
 *
 * flxd prints negative gauges as `(raw >> 11)` then `.` then the fraction bits, so −0.5 comes out
 * as "-1.500". The sign is taken off first here, so −0.5 is −0.5 and a value and its negation
 * have the same digits; for positive values the result is flxd's.
 */
export function q2011Thousandths(raw: number): number {
  const r = raw | 0;
  const t = Math.floor((Math.abs(r) * 125) / 256);
  return r < 0 && t !== 0 ? -t : t;
}

/** A Q20.11 number as flxd's three-decimal value (see q2011Thousandths). */
export function q2011ToDecimal(raw: number): number {
  return q2011Thousandths(raw) / 1000;
}

/** The nearest Q20.11 number to `value`; for encoders (the board emulator, tests). */
export function numberToQ2011(value: number): number {
  const raw = Math.round(value * Q11);
  if (!Number.isFinite(raw) || raw < INT32_MIN || raw > INT32_MAX) {
    throw new RangeError(`${value} is outside the Q20.11 range`);
  }
  return raw;
}

/** A 16-bit binary fraction in thousandths, cut like flxd's `(frac × 125) >> 13`. */
export function fraction16Thousandths(frac: number): number {
  return ((frac & 0xffff) * 125) >>> 13;
}

/** A ct_data counter (u32 whole units plus a 16-bit binary fraction) as flxd's three-decimal value. */
export function counterToDecimal(integer: number, fraction: number): number {
  return ((integer >>> 0) * 1000 + fraction16Thousandths(fraction)) / 1000;
}
