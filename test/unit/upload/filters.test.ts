import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downsample, downsampleIndices, FLM_FILTERS } from '../../../core/upload/filters';
import { prng } from '../../../core/util/prng';
import { T0, series } from './support';

const ONLY_MINUTE = [{ span: 60, offset: 0 }];

/**
 * The rule of docs/protocols/upload.md#downsampling as fluksod walks it: over the sorted
 * timestamps, dropping a point in place (so the next one is compared with what is left) while the
 * point is not newer than now - offset and not the last.
 */
function literal(points: Array<[number, number]>, now: number): Array<[number, number]> {
  const table = new Map(points);
  for (const { span, offset } of FLM_FILTERS) {
    const h = [...table.keys()].sort((a, b) => a - b);
    const bucket = (t: number) => Math.floor(t / span);
    let i = 1;
    for (let guard = 0; guard < points.length * 2 && i + 1 < h.length && h[i]! <= now - offset; guard++) {
      if (bucket(h[i - 1]!) === bucket(h[i]!) && bucket(h[i]!) === bucket(h[i + 1]!)) {
        table.delete(h[i]!);
        h.splice(i, 1);
      } else i++;
    }
  }
  return [...table.entries()].sort((a, b) => a[0] - b[0]);
}

test('span 60: only the first and last point of each minute survive', () => {
  // T0 is on a minute boundary; 10 s apart gives 6 points per minute over 3 minutes.
  const pts = series(T0, 18, 10);
  const kept = downsample(pts, T0 + 10_000, ONLY_MINUTE).map((r) => r[0] - T0);
  assert.deepEqual(kept, [0, 50, 60, 110, 120, 170]);
});

test('only points at or before now - offset are thinned (inclusive, as fluksod walks)', () => {
  const pts = series(T0, 6, 10); // one minute, 0..50
  // now - 0 = T0 + 30: points up to 30 may go, later ones stay
  assert.deepEqual(
    downsample(pts, T0 + 30, ONLY_MINUTE).map((r) => r[0] - T0),
    [0, 40, 50],
  );
  assert.deepEqual(
    downsample(pts, T0 + 29, ONLY_MINUTE).map((r) => r[0] - T0),
    [0, 30, 40, 50],
  );
  assert.deepEqual(
    downsample(pts, T0, ONLY_MINUTE).map((r) => r[0] - T0),
    [0, 10, 20, 30, 40, 50],
  );
});

test('the first and the last point are always kept', () => {
  const pts = series(T0 + 5, 3, 1);
  assert.deepEqual(downsample(pts, T0 + 10_000), [pts[0], pts[2]]);
  assert.deepEqual(downsample(pts.slice(0, 2), T0 + 10_000), pts.slice(0, 2));
  assert.deepEqual(downsample([], T0), []);
  assert.deepEqual(downsampleIndices([T0], T0 + 999), [0]);
});

test('the three filters in order: per minute now, per 15 min past 2 h, per day past 2 days', () => {
  // Three days at one reading a minute, ending now.
  const n = 3 * 1440;
  const pts = series(T0, n, 60);
  const now = T0 + (n - 1) * 60;
  const kept = downsample(pts, now);
  const age = (r: readonly [number, number]) => now - r[0];
  const perBucket = (span: number, rs: ReadonlyArray<readonly [number, number]>) => {
    const m = new Map<number, number>();
    for (const r of rs) m.set(Math.floor(r[0] / span), (m.get(Math.floor(r[0] / span)) ?? 0) + 1);
    return Math.max(...m.values());
  };
  const recent = kept.filter((r) => age(r) < 7200);
  assert.equal(recent.length, pts.filter((r) => age(r) < 7200).length, 'one a minute: the minute filter drops nothing');
  const middle = kept.filter((r) => age(r) > 7200 + 900 && age(r) < 172800 - 86400);
  assert.ok(perBucket(900, middle) <= 2, 'at most two per 15 minutes past 2 h');
  const old = kept.filter((r) => age(r) > 172800 + 86400);
  assert.ok(perBucket(86400, old) <= 2, 'at most two per day past 2 days');
  assert.ok(kept.length < 500, `3 days (${pts.length} points) thinned to ${kept.length}`);
  assert.deepEqual(kept[0], pts[0]);
  assert.deepEqual(kept.at(-1), pts.at(-1));
});

test("matches fluksod's in-place walk on random series", () => {
  const rnd = prng(515);
  for (let round = 0; round < 200; round++) {
    const pts: Array<[number, number]> = [];
    let t = T0 + Math.floor(rnd() * 86400);
    const n = 1 + Math.floor(rnd() * 300);
    const gap = [1, 7, 61, 900, 4000][Math.floor(rnd() * 5)]!;
    for (let i = 0; i < n; i++) {
      pts.push([t, i]);
      t += 1 + Math.floor(rnd() * gap);
    }
    const now = t + Math.floor(rnd() * 4 * 86400) - 3600;
    assert.deepEqual(downsample(pts, now), literal(pts, now), `round ${round}`);
  }
});
