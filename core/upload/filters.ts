import type { Reading } from './reading';

export interface DownsampleFilter {
  /** bucket width, seconds: buckets are `floor(ts / span)` */
  span: number;
  /** only points at or before `now - offset` are thinned */
  offset: number;
}

/** fluksod's three filters, applied in this order before every send (docs/protocols/upload.md#downsampling). */
export const FLM_FILTERS: readonly DownsampleFilter[] = [
  { span: 60, offset: 0 },
  { span: 900, offset: 7200 },
  { span: 86400, offset: 172800 },
];

/**
 * The indices of `ts` (ascending) that survive the filters, in order. One pass per filter, each
 * over what the one before kept: a point not newer than `now - offset` that is neither the
 * first nor the last is dropped when its predecessor and successor share a bucket, which
 * leaves the first and last point of every bucket. The boundary is inclusive as in fluksod,
 * whose walk stops at the first point newer than `now - offset`.
 * Predecessor and successor are the neighbours as the pass found them; fluksod compares with
 * the already-thinned list, which gives the same result, because a dropped neighbour always
 * shares the bucket of the point it sat beside.
 */
export function downsampleIndices(
  ts: ArrayLike<number>,
  now: number,
  filters: readonly DownsampleFilter[] = FLM_FILTERS,
): number[] {
  let kept = Array.from({ length: ts.length }, (_, i) => i);
  for (const f of filters) {
    const limit = now - f.offset;
    const next: number[] = [];
    const last = kept.length - 1;
    for (let k = 0; k <= last; k++) {
      const t = ts[kept[k]!]!;
      const interior =
        k > 0 &&
        k < last &&
        t <= limit &&
        Math.floor(ts[kept[k - 1]!]! / f.span) === Math.floor(ts[kept[k + 1]!]! / f.span);
      if (!interior) next.push(kept[k]!);
    }
    kept = next;
  }
  return kept;
}

/** The readings (ascending by time) the FLM would still send after its filters. */
export function downsample(
  readings: readonly Reading[],
  now: number,
  filters: readonly DownsampleFilter[] = FLM_FILTERS,
): Reading[] {
  const ts = readings.map((r) => r[0]);
  return downsampleIndices(ts, now, filters).map((i) => readings[i]!);
}
