import type { BlockKey } from '../../../core/tmpo/ids';

const SIDS = ['c1411c6b4f9910bbbab09f145f8533b9', 'fed676021dacaaf6a12a8dda7685be34'];
const T0 = 4096 * 420000;

/** Block i of the crash test: its key and content follow from i alone, so the parent can check it. */
export function keyFor(i: number): BlockKey {
  return { sid: SIDS[i % 2]!, rid: 0, lvl: 8, bid: T0 + Math.floor(i / 2) * 256 };
}

export function expectedSeries(i: number): { times: number[]; values: number[] } {
  const bid = keyFor(i).bid;
  const n = 50 + (i % 200);
  return {
    times: Array.from({ length: n }, (_, k) => bid + k),
    values: Array.from({ length: n }, (_, k) => i * 1000 + k * ((i % 3) + 1) + (i % 2 ? 0.125 : 0)),
  };
}
