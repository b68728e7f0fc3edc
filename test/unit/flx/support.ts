/**
 * Test-side helpers for FLM03 frames, written apart from the code under test: the checksum is a
 * second implementation of docs/protocols/sensor-board.md#fletcher-16 (built from arrays
 * and explicit folds, not a running loop), and golden payloads are laid out byte by byte from the
 * field lists.
 */

/** End-around-carry fold: one step of the reduction modulo 255. */
const fold = (s: number): number => (s & 0xff) + (s >> 8);

/**
 * Fletcher-16 as the board computes it: both sums start at 0xFF, are folded after each 20-byte
 * piece and twice more at the end. Returns [sum2, sum1], the order the frame carries them in.
 */
export function referenceFletcher(bytes: readonly number[]): [number, number] {
  const pieces: number[][] = [];
  for (let i = 0; i < bytes.length; i += 20) pieces.push(bytes.slice(i, i + 20));
  const [s1, s2] = pieces.reduce<[number, number]>(
    ([a, b], piece) => {
      let sum1 = a;
      let sum2 = b;
      piece.forEach((byte) => {
        sum1 = sum1 + byte;
        sum2 = sum2 + sum1;
      });
      return [fold(sum1), fold(sum2)];
    },
    [0xff, 0xff],
  );
  return [fold(fold(s2)), fold(fold(s1))];
}

/** `AA AA type len payload sum2 sum1`, checksum by the reference routine. */
export function goldenFrame(type: number, payload: readonly number[]): Uint8Array {
  const body = [type, payload.length, ...payload];
  return Uint8Array.from([0xaa, 0xaa, ...body, ...referenceFletcher(body)]);
}

/** Little-endian bytes of an unsigned or two's-complement integer. */
export function le(value: number, bytes: 1 | 2 | 4): number[] {
  const out: number[] = [];
  let v = value < 0 ? 2 ** (8 * bytes) + value : value;
  for (let i = 0; i < bytes; i++) {
    out.push(v % 256);
    v = Math.floor(v / 256);
  }
  return out;
}

export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Is `frame` a valid FLM03 frame by the reference checksum? */
export function referenceValid(frame: Uint8Array): boolean {
  if (frame.length < 6 || frame[0] !== 0xaa || frame[1] !== 0xaa || frame[3] !== frame.length - 6) return false;
  const body = Array.from(frame.subarray(2, frame.length - 2));
  const [s2, s1] = referenceFletcher(body);
  return frame[frame.length - 2] === s2 && frame[frame.length - 1] === s1;
}

// ---- golden payloads, field by field as the docs / flxd decode.h lay them out ----

export const T_BOARD = 1_500_000_000;

/** ct_data for clamp port 1 (0-based), with counters and gauges chosen to hit the edges. */
export const CT_COUNTERS_GOLDEN: [number, number][] = [
  [123456, 0x8000], // pplus 123456.5 Wh
  [7, 0], // pminus 7 Wh
  [1000, 0xffff], // q1 1000.999 varh
  [0, 0], // q2
  [1, 0x0001], // q3: 1/65536 is below a thousandth
  [0xffffffff, 0x2000], // q4: the largest counter, .125
];
export const CT_GAUGES_GOLDEN: number[] = [
  4711424, // pplus 2300.5 W
  0, // pminus
  -1024, // q1 −0.5 var (flxd would print "-1.500")
  205312, // q2 100.25 var
  -1, // q3 −1/2048: rounds to 0 toward zero
  -20480, // q4 −10 var
  471292, // vrms 230.12305 → 230.123 V
  20481, // irms 10.00049 → 10 A
  2046, // pf 0.99902 → 0.999
  61, // vthd 0.02978 → 0.029
  0x7fffffff, // ithd, the largest Q20.11: 1048575.99951 → 1048575.999
  -0x80000000, // alpha, the smallest: −1048576
];

export function ctDataPayload(port = 1, time = T_BOARD, millis = 250): number[] {
  return [
    ...le(time, 4),
    ...le(millis, 2),
    port,
    0,
    ...CT_COUNTERS_GOLDEN.flatMap(([i]) => le(i, 4)),
    ...CT_COUNTERS_GOLDEN.flatMap(([, f]) => le(f, 2)),
    ...CT_GAUGES_GOLDEN.flatMap((g) => le(g, 4)),
  ];
}

export function pulseDataPayload(
  port: number,
  gauge: number,
  counter: number,
  counterMillis: number,
  time = T_BOARD,
): number[] {
  return [...le(time, 4), ...le(10, 2), port, 0, ...le(gauge, 4), ...le(counter, 4), ...le(counterMillis, 2), 0, 0];
}

/** CRC-8 Dallas bit by bit as two hex digits, for FLM02 frames built by hand (independent of core/flx/crc8). */
export function crc8(text: string): string {
  let crc = 0;
  for (const ch of text) {
    crc ^= ch.charCodeAt(0);
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0x8c : crc >> 1;
  }
  return crc.toString(16).padStart(2, '0');
}
