/**
 * TMPO: bytes per sample at each level after 14 simulated days of a 1 Hz electricity
 * counter, and samples per second encoded and decoded, against plain gzip of the same
 * [[ts,value],...] JSON in the same run. Goals: at most 1 byte per sample at level 20, at least
 * 5 million samples/s decoded.
 */
import { gzipSync, gunzipSync, constants } from 'node:zlib';
import { encodeSeries, decodeSeries } from '../core/tmpo/codec';
import { LEVELS, span, type Level } from '../core/tmpo/ids';
import { Household, DEFAULT_HOUSEHOLD } from '../core/sim/household';
import { Block8Pool } from '../core/tmpo/builder';
import { fmt, goal } from './support';

const DAYS = 14;
const T0 = 1048576 * 1700; // a level-20 window start
const CFG = {
  id: 'c1411c6b4f9910bbbab09f145f8533b9',
  type: 'electricity',
  class: 'analog',
  function: 'main',
  port: [1],
  data_type: 'counter',
  rid: 0,
};

function counterSeries(): { times: number[]; values: number[] } {
  const house = new Household({ ...DEFAULT_HOUSEHOLD, seed: 9 }, T0 * 1000 - 1000);
  const times: number[] = [];
  const values: number[] = [];
  let wh = 0;
  for (let i = 0; i < DAYS * 86400; i++) {
    const b = house.step();
    for (const r of b.records) if (r.kind === 'analog') wh += r.power / 3600;
    times.push(b.time / 1000);
    values.push(Math.floor(wh));
  }
  return { times, values };
}

function windows(s: { times: number[]; values: number[] }, lvl: Level) {
  const out: Array<{ times: number[]; values: number[] }> = [];
  let start = 0;
  while (start < s.times.length) {
    const bid = Math.floor(s.times[start]! / span(lvl)) * span(lvl);
    let end = start;
    while (end < s.times.length && s.times[end]! < bid + span(lvl)) end++;
    out.push({ times: s.times.slice(start, end), values: s.values.slice(start, end) });
    start = end;
  }
  return out;
}

const plainGzip = (w: { times: number[]; values: number[] }) =>
  gzipSync(JSON.stringify(w.times.map((t, i) => [t, w.values[i]])), { level: 9, strategy: constants.Z_FILTERED });

function main() {
  const series = counterSeries();
  const n = series.times.length;
  console.log(`${DAYS} days of a 1 Hz counter: ${n} samples`);
  const encoded = new Map<Level, Buffer[]>();
  for (const lvl of LEVELS) {
    const ws = windows(series, lvl);
    const t0 = process.hrtime.bigint();
    const blocks = ws.map((w) => encodeSeries(w, CFG));
    const encMs = Number(process.hrtime.bigint() - t0) / 1e6;
    encoded.set(lvl, blocks);
    const ours = blocks.reduce((a, b) => a + b.length, 0);
    const plain = ws.map(plainGzip).reduce((a, b) => a + b.length, 0);
    console.log(
      `level ${String(lvl).padStart(2)}: ${String(ws.length).padStart(5)} blocks, TMPO ${fmt(ours / n, 3)} B/sample, plain gzip JSON ${fmt(plain / n, 3)} B/sample (ratio ${fmt(ours / plain)}), encode ${fmt(n / encMs / 1000, 2)} M samples/s`,
    );
  }
  const l20 = encoded.get(20)!;
  const bytes20 = l20.reduce((a, b) => a + b.length, 0) / n;
  // decode: best of 3, TMPO blocks against gunzip + JSON.parse of the plain arrays
  const plain20 = windows(series, 20).map(plainGzip);
  const best = (fn: () => void) =>
    Math.min(
      ...[0, 1, 2].map(() => {
        const t0 = process.hrtime.bigint();
        fn();
        return Number(process.hrtime.bigint() - t0) / 1e6;
      }),
    );
  let check = 0;
  const tmpoMs = best(() => {
    for (const b of l20) check += decodeSeries(b).times.length;
  });
  const plainMs = best(() => {
    for (const b of plain20) check += (JSON.parse(gunzipSync(b).toString()) as unknown[]).length;
  });
  if (check !== 6 * n) throw new Error(`decoded ${check} samples, expected ${6 * n}`);
  const rate = n / tmpoMs / 1000;
  console.log(
    `decode level 20: TMPO ${fmt(rate, 2)} M samples/s, plain gzip JSON ${fmt(n / plainMs / 1000, 2)} M samples/s (ratio ${fmt(plainMs / tmpoMs)})`,
  );
  // level-8 builder: the same samples pushed one by one as flm-tmpo does, a flush tick each
  // simulated second, against encoding the same windows in one go (best of 3 each)
  const sids = ['c1411c6b4f9910bbbab09f145f8533b9', 'fed676021dacaaf6a12a8dda7685be34'];
  const w8 = windows(series, 8);
  const encodeMs = best(() => {
    for (const w of w8) for (let k = 0; k < sids.length; k++) check += encodeSeries(w, CFG).length > 0 ? 1 : 0;
  });
  const pushMs = best(() => {
    const pool = new Block8Pool({ graceSeconds: 10, cfgFor: () => CFG });
    for (let i = 0; i < n; i++) {
      const t = series.times[i]!;
      for (const sid of sids) pool.push(sid, 0, t, series.values[i]!, t);
      pool.flush(t);
    }
    check += pool.flush(series.times[n - 1]!, { force: true }).length;
  });
  const pushRate = (n * sids.length) / pushMs / 1000;
  const pushRatio = encodeMs / pushMs;
  console.log(
    `level-8 builder: ${fmt(pushRate, 2)} M samples/s pushed with a flush tick a second, encoding the same windows at once ${fmt((n * sids.length) / encodeMs / 1000, 2)} M samples/s (ratio ${fmt(pushRatio)})`,
  );
  goal('bytes per sample at level 20', bytes20, '<=', 1, { digits: 3, unit: ' B' });
  goal('M samples/s decoded at level 20', rate, '>=', 5);
  goal('level-8 builder against encoding at once', pushRatio, '>=', 0.3);
}

main();
