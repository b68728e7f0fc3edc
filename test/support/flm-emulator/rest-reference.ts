/**
 * What the Flukso REST API should answer for a sensor, worked out from the readings the emulator
 * delivered (docs/protocols/server.md#rest, the server's own description): buckets [start + k·R, start + (k+1)·R), the counter at
 * each edge interpolated linearly between the readings either side of it when they are at most
 * `maxGap` apart (else unknown), each point `[bucket end, Δcounter / R × factor]` rounded to 3
 * decimals, "nan" when an edge is unknown. Written here on its own, not with the server's code.
 */

export type RestPoint = [number, number | 'nan'];

/** `samples` ascending by time. */
export function expectedSeries(
  samples: ReadonlyArray<readonly [number, number]>,
  start: number,
  resolution: number,
  buckets: number,
  factor: number,
  maxGap = 3600,
): RestPoint[] {
  const edges: number[] = [];
  let i = 0;
  for (let k = 0; k <= buckets; k++) {
    const e = start + k * resolution;
    while (i < samples.length && samples[i]![0] < e) i++;
    // samples[i] is the first at or after e; samples[i-1] the last before
    const next = samples[i];
    const prev = samples[i - 1];
    if (next && next[0] === e) edges.push(next[1]);
    else if (next && prev && next[0] - prev[0] <= maxGap)
      edges.push(prev[1] + ((next[1] - prev[1]) * (e - prev[0])) / (next[0] - prev[0]));
    else edges.push(NaN);
  }
  const out: RestPoint[] = [];
  for (let k = 0; k < buckets; k++) {
    const rate = (edges[k + 1]! - edges[k]!) / resolution;
    out.push([start + (k + 1) * resolution, Number.isFinite(rate) ? Math.round(rate * factor * 1000) / 1000 : 'nan']);
  }
  return out;
}

/** Points that differ (beyond float noise), for a readable failure. */
export function seriesDiff(got: readonly RestPoint[], want: readonly RestPoint[], tolerance = 0.0015): string[] {
  const out: string[] = [];
  if (got.length !== want.length) out.push(`${got.length} points, expected ${want.length}`);
  for (let k = 0; k < Math.min(got.length, want.length); k++) {
    const [gt, gv] = got[k]!;
    const [wt, wv] = want[k]!;
    const same =
      gt === wt &&
      (gv === wv ||
        (typeof gv === 'number' &&
          typeof wv === 'number' &&
          Math.abs(gv - wv) <= tolerance * Math.max(1, Math.abs(wv))));
    if (!same) out.push(`[${gt},${gv}] expected [${wt},${wv}]`);
  }
  return out;
}
