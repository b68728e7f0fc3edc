/**
 * fluksod's three downsampling filters, applied to a sensor's upload buffer before each send
 * (docs/protocols/upload.md#measurements): per filter, a point older than now − offset that is not
 * the last one is dropped when its neighbours fall in the same floor(ts/span) bucket, so only the
 * first and last point of each bucket survive.
 */
const FLUKSOD_FILTERS: ReadonlyArray<{ span: number; offset: number }> = [
  { span: 60, offset: 0 },
  { span: 900, offset: 7200 },
  { span: 86400, offset: 172800 },
];

/** Filter one sensor's timestamps (ascending) in place of the buffer: returns those kept. */
export function downsample(times: readonly number[], now: number, span: number, offset: number): number[] {
  const kept: number[] = [];
  for (let i = 0; i < times.length; i++) {
    const ts = times[i]!;
    const prev = kept[kept.length - 1];
    const next = times[i + 1];
    const old = ts < now - offset;
    if (old && prev !== undefined && next !== undefined && Math.floor(prev / span) === Math.floor(next / span))
      continue;
    kept.push(ts);
  }
  return kept;
}

export function fluksodFilters(times: readonly number[], now: number): number[] {
  let out = [...times];
  for (const f of FLUKSOD_FILTERS) out = downsample(out, now, f.span, f.offset);
  return out;
}
