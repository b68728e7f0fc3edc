export const KEY = 'c1411c6b4f9910bbbab09f145f8533b9';
export const WRONG_KEY = '0123456789abcdef0123456789abcdef';
export const DEVICE = 'fed676021dacaaf6a12a8dda7685be34';
export const SID_A = '0ab1c2d3e4f5a6b7c8d9e0f1a2b3c4d5';
export const SID_B = '1ab1c2d3e4f5a6b7c8d9e0f1a2b3c4d5';
export const SID_C = '2ab1c2d3e4f5a6b7c8d9e0f1a2b3c4d5';
/** 2015-12-13T06:00:00Z, a multiple of 86400 minus 6 h: buckets of every filter start on it or before */
export const T0 = 1449986400;

export { withTempDir } from '../../support/temp-dir';

/** Readings of one sensor: `n` of them from `from`, `step` seconds apart, counter rising by 1 from `c0`. */
export function series(from: number, n: number, step = 1, c0 = 1000): Array<[number, number]> {
  return Array.from({ length: n }, (_, i) => [from + i * step, c0 + i] as [number, number]);
}
