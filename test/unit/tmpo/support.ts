import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../../../core/util/prng';
import type { Series } from '../../../core/tmpo/block';

export const SID_A = 'c1411c6b4f9910bbbab09f145f8533b9';
export const SID_B = 'fed676021dacaaf6a12a8dda7685be34';

/** A multiple of 2^12 (and so of 2^8): 2015-12-13T06:00:00Z. */
export const T0 = 4096 * 354000;

export const CFG = {
  id: SID_A,
  type: 'electricity',
  class: 'analog',
  port: [1],
  function: 'main',
  rid: 0,
  data_type: 'counter',
};

export { withTempDir } from '../../support/temp-dir';

/** Every file below `dir`, as paths relative to it. */
export async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    let list;
    try {
      list = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of list) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  await walk(dir, '');
  return out.sort();
}

/** A counter-like series: strictly increasing times in [start, end), values as chosen. */
export function randomSeries(
  rnd: () => number,
  opts: { start: number; end: number; maxSamples: number; decimals: 0 | 3 | 'any'; maxGap?: number },
): Series {
  const times: number[] = [];
  const values: number[] = [];
  let t = opts.start + Math.floor(rnd() * 10);
  let v = Math.round((rnd() - 0.3) * 1e7);
  const maxGap = opts.maxGap ?? 30;
  while (t < opts.end && times.length < opts.maxSamples) {
    times.push(t);
    values.push(opts.decimals === 0 ? v : opts.decimals === 3 ? Math.round(v * 1000) / 1000 : v);
    t += 1 + Math.floor(rnd() * maxGap);
    const step = (rnd() < 0.1 ? -1 : 1) * rnd() * (rnd() < 0.2 ? 5000 : 20);
    v = opts.decimals === 0 ? v + Math.round(step) : v + step;
  }
  return { times, values };
}

export { prng };

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;
