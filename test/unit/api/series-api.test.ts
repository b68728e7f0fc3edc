import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSeriesQuery } from '../../../core/api/series-api';
import { Buckets } from '../../../core/api/buckets';
import { parseTime } from '../../../core/api/time';
import type { Series } from '../../../core/tmpo/block';
import { TmpoStore } from '../../../core/tmpo/store';
import {
  CFG,
  SID_A,
  SID_B,
  T20,
  TOKEN_A,
  TOKEN_B,
  key,
  newBuilder,
  putSeries,
  record,
  slice,
  withServer,
  withTempDir,
} from './support';

/** 10 s samples of a Wh counter: 360 W (1 Wh each) until T20 + 4000, then 720 W (2 Wh each). */
function knownSeries(until: number): Series {
  const times: number[] = [];
  const values: number[] = [];
  let v = 1000;
  for (let t = T20; t < until; t += 10) {
    times.push(t);
    values.push(v);
    v += t + 10 <= T20 + 4000 ? 1 : 2;
  }
  return { times, values };
}

const H = { 'X-Version': '1.0', 'X-Token': TOKEN_A };

test('times: Unix seconds or ISO 8601, offset-less date-times as UTC, typos refused', () => {
  assert.equal(parseTime('1468006400'), 1468006400);
  assert.equal(parseTime('2016-07-08T19:33:20Z'), 1468006400);
  assert.equal(parseTime('2016-07-08T19:33:20'), 1468006400);
  assert.equal(parseTime('2016-07-08T21:33:20+02:00'), 1468006400);
  assert.equal(parseTime('2016-07-08'), Date.UTC(2016, 6, 8) / 1000);
  for (const bad of ['yesterday', '2016-02-30', '1.5', '', '2016-07-08T25:00Z'])
    assert.equal(parseTime(bad), undefined, bad);
});

test('buckets: edges interpolated between samples, none before the first or after the last sample', () => {
  const b = new Buckets(100, 10, 3);
  for (const [t, v] of [
    [95, 0],
    [105, 10],
    [125, 30],
    [126, 31],
  ] as const)
    b.add(t, v);
  assert.deepEqual(
    [0, 1, 2].map((k) => b.increase(k)),
    [10, 10, NaN],
  );
  assert.equal(b.counterAt(0), 15);
  assert.equal(b.mean(0), 10);
  assert.ok(Number.isNaN(b.mean(1)));
  assert.equal(b.complete, false);
});

test('GET /sensor/<sid>/series: average power per bucket of a known series, from the highest level', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const s = knownSeries(T20 + 8192 + 700);
    await record(store, newBuilder(), s, T20 + 8192 + 768);
    assert.deepEqual(
      (await store.list()).map((k) => k.lvl),
      [12, 12, 8, 8, 8],
    );
    await withServer({ store, tokens: { [SID_A]: TOKEN_A } }, async (base) => {
      const get = async (q: string) => {
        const r = await fetch(`${base}/sensor/${SID_A}/series?${q}`, { headers: H });
        assert.equal(r.status, 200, await r.clone().text());
        return (await r.json()) as {
          series: Array<[number, number | 'nan']>;
          levels: number[];
          blocks: number;
          unit: string;
          end: number;
          rid: number;
        };
      };
      const a = await get(`start=${T20}&end=${T20 + 9000}&resolution=1000`);
      assert.equal(a.unit, 'watt', 'electricity by default');
      assert.deepEqual(a.series, [
        ...[1, 2, 3, 4].map((k) => [T20 + k * 1000, 360]),
        ...[5, 6, 7, 8].map((k) => [T20 + k * 1000, 720]),
        [T20 + 9000, 'nan'],
      ]);
      assert.deepEqual(a.levels, [12, 8]);
      assert.equal(a.blocks, 5);

      const inside = await get(`start=${T20}&end=${T20 + 8000}&resolution=1000`);
      assert.deepEqual([inside.levels, inside.blocks], [[12], 2], 'only the two level-12 blocks are read');

      const hours = await get(`start=${new Date(T20 * 1000).toISOString()}&end=${T20 + 7200}&resolution=hour`);
      assert.deepEqual(hours.series, [
        [T20 + 3600, 360],
        [T20 + 7200, 680],
      ]);
      const wh = await get(`start=${T20}&end=${T20 + 7200}&resolution=hour&unit=delta`);
      assert.deepEqual(wh.series, [
        [T20 + 3600, 360],
        [T20 + 7200, 680],
      ]);
      const counter = await get(`start=${T20}&end=${T20 + 7200}&resolution=3600&unit=counter`);
      assert.deepEqual(counter.series, [
        [T20 + 3600, 1360],
        [T20 + 7200, 2040],
      ]);
      const kwh = await get(`start=${T20}&end=${T20 + 3600}&resolution=hour&unit=kwhperyear`);
      assert.deepEqual(kwh.series, [[T20 + 3600, 3153.6]]);

      // a range starting inside a block needs no other; one ending after the data reads the block after
      const tail = await get(`start=${T20 + 8000}&end=${T20 + 8500}&resolution=100`);
      assert.deepEqual(
        tail.series.map(([, v]) => v),
        [720, 720, 720, 720, 720],
      );
      assert.deepEqual([tail.levels, tail.blocks], [[12, 8], 3]);

      const before = await get(`start=${T20 - 5000}&end=${T20 + 1000}&resolution=1000`);
      assert.deepEqual(
        before.series.map(([, v]) => v),
        ['nan', 'nan', 'nan', 'nan', 'nan', 360],
      );
      const later = await get(`start=${T20 + 100000}&end=${T20 + 100060}`);
      assert.deepEqual(later.series, [[T20 + 100060, 'nan']]);
      assert.equal(later.rid, 0);
    });
  });
});

test('series: children of a stored parent are not read; a range in a gap interpolates across it', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const s = knownSeries(T20 + 4096);
    // as after a crash between writing the level-12 parent and removing its children
    await putSeries(store, key(12, T20), s);
    for (let i = 0; i < 16; i++) {
      const part = slice(s, T20 + i * 256, T20 + (i + 1) * 256);
      await putSeries(store, key(8, T20 + i * 256), part);
    }
    const gap: Series = { times: [T20 + 8192, T20 + 8192 + 256 * 20 + 10], values: [0, 3600 * 20] };
    await putSeries(store, key(12, T20 + 8192), { times: [gap.times[0]!], values: [gap.values[0]!] });
    await putSeries(store, key(8, gap.times[1]! - 10), { times: [gap.times[1]!], values: [gap.values[1]!] });
    await withServer({ store, tokens: { [SID_A]: TOKEN_A } }, async (base) => {
      const r = (await (
        await fetch(`${base}/sensor/${SID_A}/series?start=${T20}&end=${T20 + 4000}&resolution=1000`, { headers: H })
      ).json()) as { levels: number[]; blocks: number; series: unknown };
      assert.deepEqual([r.levels, r.blocks], [[12], 1]);
      assert.deepEqual(
        r.series,
        [1, 2, 3, 4].map((k) => [T20 + k * 1000, 360]),
      );
      // a range inside a gap between blocks: the counter's increase across the gap, spread evenly
      const g = (await (
        await fetch(`${base}/sensor/${SID_A}/series?start=${T20 + 9000}&end=${T20 + 9100}&resolution=100&unit=delta`, {
          headers: H,
        })
      ).json()) as { blocks: number; series: Array<[number, number]> };
      assert.equal(g.blocks, 2);
      assert.equal(g.series[0]![1], Math.round((72000 / (256 * 20 + 10)) * 100 * 1000) / 1000);
    });
  });
});

test('series: default unit from the block cfg (water -> lperday, gauge series -> mean), rid chosen', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await putSeries(store, key(8, T20, SID_B), { times: [T20, T20 + 100], values: [0, 1] }, { ...CFG, type: 'water' });
    await putSeries(
      store,
      key(8, T20, SID_A, 0),
      { times: [T20, T20 + 100], values: [5, 7] },
      { ...CFG, data_type: 'gauge' },
    );
    await putSeries(
      store,
      key(8, T20, SID_A, 1),
      { times: [T20, T20 + 100], values: [50, 70] },
      { ...CFG, data_type: 'gauge' },
    );
    await withServer({ store, tokens: { [SID_A]: TOKEN_A, [SID_B]: TOKEN_B } }, async (base) => {
      const water = (await (
        await fetch(
          `${base}/sensor/${SID_B}/series?start=${T20}&end=${T20 + 100}&resolution=100&version=1.0&token=${TOKEN_B}`,
        )
      ).json()) as { unit: string; series: unknown };
      assert.deepEqual([water.unit, water.series], ['lperday', [[T20 + 100, 864]]]);
      const gauge = (await (
        await fetch(`${base}/sensor/${SID_A}/series?start=${T20}&end=${T20 + 200}&resolution=100`, { headers: H })
      ).json()) as { unit: string; rid: number; series: unknown };
      assert.deepEqual(
        [gauge.unit, gauge.rid, gauge.series],
        [
          'mean',
          1,
          [
            [T20 + 100, 50],
            [T20 + 200, 70],
          ],
        ],
      );
      const rid0 = await (
        await fetch(`${base}/sensor/${SID_A}/series?start=${T20}&end=${T20 + 200}&resolution=100&rid=0&callback=cb`, {
          headers: H,
        })
      ).text();
      assert.match(
        rid0,
        /^cb\(\{"sid":"c1411c6b4f9910bbbab09f145f8533b9","rid":0,.*"series":\[\[\d+,5\],\[\d+,7\]\]\}\);$/,
      );
    });
  });
});

test('series: clear 400s for bad queries, 401 without a token, 404 for unknown sensors', async () => {
  const now = T20 + 86400;
  const bad: Array<[string, RegExp]> = [
    ['', /start: /],
    ['start=yesterday', /start: must be Unix seconds or an ISO 8601/],
    [`start=${T20}&end=${T20}`, /end \(\d+\) must be after start/],
    [`start=${T20}&resolution=0`, /resolution: must be a number of seconds or one of minute/],
    [`start=${T20}&resolution=fortnight`, /resolution: /],
    [`start=${T20}&unit=furlong`, /unit: /],
    [`start=${T20}&resolutoin=60`, /resolutoin/],
    [`start=0&end=${T20}&resolution=1`, /at most 100000, use a coarser resolution/],
    [`start=${T20}&rid=-1`, /rid: must be a whole number/],
    [`start=${T20}&callback=x()`, /callback: must be a JavaScript function name/],
  ];
  for (const [q, want] of bad) {
    const r = parseSeriesQuery(new URLSearchParams(q), now);
    assert.equal(typeof r, 'string', q);
    assert.match(r as string, /^Malformed query string: /, q);
    assert.match(r as string, want, q);
  }
  assert.deepEqual(parseSeriesQuery(new URLSearchParams(`start=${T20}&end=${T20 + 150}&resolution=minute`), now), {
    start: T20,
    end: T20 + 180,
    resolution: 60,
    buckets: 3,
    unit: undefined,
    rid: undefined,
    callback: undefined,
  });
  assert.equal((parseSeriesQuery(new URLSearchParams(`start=${T20}`), now) as { end: number }).end, now);

  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    await withServer({ store, tokens: { [SID_A]: TOKEN_A } }, async (base) => {
      const r = await fetch(`${base}/sensor/${SID_A}/series?resolution=minute`, { headers: H });
      assert.equal(r.status, 400);
      assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.match(await r.text(), /^Malformed query string: start: /);
      assert.equal(
        (await fetch(`${base}/sensor/${SID_A}/series?start=${T20}`, { headers: { 'X-Version': '1.0' } })).status,
        401,
      );
      assert.equal((await fetch(`${base}/sensor/${SID_B}/series?start=${T20}`, { headers: H })).status, 404);
    });
  });
});
