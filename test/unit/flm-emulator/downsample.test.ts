import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsample, fluksodFilters } from '../../support/flm-emulator/downsample';

test('a filter keeps the first and last point of each bucket, only for points older than now − offset', () => {
  const times = [0, 10, 20, 30, 59, 60, 61, 119, 120];
  assert.deepEqual(downsample(times, 1000, 60, 0), [0, 59, 60, 119, 120]);
  // points at or after now − offset are all kept
  assert.deepEqual(downsample(times, 100, 60, 50), [0, 59, 60, 61, 119, 120]);
});

test('fluksod: ≤ 2 points a minute; per 15 min beyond 2 h; per day beyond 2 days', () => {
  const now = 10 * 86400;
  const times: number[] = [];
  for (let t = now - 4 * 86400; t < now; t += 20) times.push(t);
  const kept = fluksodFilters(times, now);
  const per = (from: number, to: number, span: number) => {
    const buckets = new Map<number, number>();
    for (const t of kept)
      if (t >= from && t < to) buckets.set(Math.floor(t / span), (buckets.get(Math.floor(t / span)) ?? 0) + 1);
    return Math.max(...buckets.values());
  };
  assert.equal(per(now - 7000, now, 60), 2);
  assert.equal(per(now - 86400, now - 7300, 900), 2);
  assert.ok(per(now - 4 * 86400, now - 3 * 86400, 86400) <= 3);
  assert.equal(kept[kept.length - 1], times[times.length - 1]);
});
