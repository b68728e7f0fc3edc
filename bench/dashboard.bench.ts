/**
 * The dashboard's year chart: a year of minute data for 4 sensors (4 × 525 600 = 2.1 million
 * points) in TMPO level-20 blocks, served by the series API (the dashboard's compact f64 form,
 * core/dashboard/http.ts) and drawn with uPlot in Debian's Chromium. Measured in the same run:
 * the 4 series requests alone (from Node, in parallel, as the page makes them) and, in the page,
 * the time from asking for the chart to uPlot's first draw. Goals: under 1 s to draw, under 2x the
 * requests alone. For comparison, the JSON answer of the series API at its largest (100 000
 * buckets) against the compact answer for the same range.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium } from 'playwright-core';
import { encodeSeries } from '../core/tmpo/codec';
import { blockPath, span } from '../core/tmpo/ids';
import { benchRuntime } from './runtime';
import { fmt, goal } from './support';

const CHROMIUM = '/usr/bin/chromium';
const YEAR = 365 * 86_400;
const T0 = 2 ** 20 * 1650; // a level-20 window start (2022-04-…)
const RUNS = 5;
const DEVICE_ID = 'feedfacefeedfacefeedfacefeedface';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A minute Wh counter for a year, its power a daily wave with some noise (solar: daytime only). */
function yearOfMinutes(seed: number, solar: boolean) {
  const times: number[] = [];
  const values: number[] = [];
  let wh = 1_000_000 * seed;
  for (let t = T0; t < T0 + YEAR; t += 60) {
    times.push(t);
    values.push(Math.round(wh));
    const dayPhase = ((t % 86_400) / 86_400) * 2 * Math.PI;
    const w = solar
      ? Math.max(0, -Math.cos(dayPhase)) * 3000
      : 400 + 300 * Math.sin(dayPhase + seed) + ((t * 7919 * seed) % 500);
    wh += w / 60;
  }
  return { times, values };
}

async function main(): Promise<void> {
  const rt = await benchRuntime();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const names = ['main', 'solar', 'heat pump', 'kitchen'];
    await rt.deploy([
      { id: 'b.tab', type: 'tab', label: 'bench' },
      {
        id: 'b.dev',
        type: 'flm-device',
        name: 'bench',
        deviceId: DEVICE_ID,
        phase: '1',
        validAfter: 1234567890,
        dataDir: rt.dataDir,
        sensors: names.map((name, i) => ({
          n: i + 1,
          name,
          type: 'electricity',
          class: 'analog',
          port: [i + 1],
          voltage: 230,
          current: 50,
          enable: true,
          data_type: 'counter',
        })),
      },
      {
        id: 'b.dash',
        type: 'flm-dashboard',
        z: 'b.tab',
        name: 'dashboard',
        device: 'b.dev',
        x: 100,
        y: 100,
        wires: [],
      },
    ]);
    const auth = { Authorization: `Bearer ${rt.red.token}` };
    const base = `${rt.red.baseUrl}/flm/dashboard`;
    let sids: string[] = [];
    for (let i = 0; i < 100 && sids.length < 4; i++) {
      const r = await fetch(`${base}/api/b.dash/state`, { headers: auth });
      if (r.status === 200) sids = ((await r.json()) as { sensors: Array<{ sid: string }> }).sensors.map((s) => s.sid);
      else await new Promise((res) => setTimeout(res, 100));
    }
    if (sids.length !== 4) throw new Error(`the dashboard did not list 4 sensors: ${sids.length}`);

    let t = performance.now();
    let points = 0;
    sids.forEach((sid, i) => {
      const s = yearOfMinutes(i + 1, names[i] === 'solar');
      points += s.times.length;
      const cfg = { id: sid, type: 'electricity', class: 'analog', data_type: 'counter', rid: 0 };
      for (let bid = T0; bid < T0 + YEAR; bid += span(20)) {
        const from = (bid - T0) / 60;
        const to = Math.min(s.times.length, (bid + span(20) - T0) / 60);
        const file = blockPath(rt.dataDir, { sid, rid: 0, lvl: 20, bid });
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, encodeSeries({ times: s.times.slice(from, to), values: s.values.slice(from, to) }, cfg));
      }
    });
    console.log(
      `wrote ${points} minute samples of 4 sensors in level-20 blocks (${fmt((performance.now() - t) / 1000, 1)} s)`,
    );

    const range = `start=${T0}&end=${T0 + YEAR}&resolution=60`;
    const requestAll = async (format: string, q = range) => {
      const t0 = performance.now();
      const bodies = await Promise.all(
        sids.map((sid) =>
          fetch(`${base}/api/b.dash/series/${sid}?${q}&format=${format}`, { headers: auth }).then(async (r) => {
            if (r.status !== 200) throw new Error(`series ${format}: HTTP ${r.status} ${await r.text()}`);
            return r.arrayBuffer();
          }),
        ),
      );
      const ms = performance.now() - t0;
      // Points with a value (a bucket past the last sample has none).
      const values =
        format === 'f64'
          ? bodies.reduce((n, b) => n + new Float64Array(b).filter((v) => !Number.isNaN(v)).length, 0)
          : 0;
      return { ms, bytes: bodies.reduce((n, b) => n + b.byteLength, 0), values };
    };

    // Warm the file cache, the dashboard's decoded blocks and the JIT, as a page finds them after its first visit.
    const warm = await requestAll('f64');
    const served = warm.values;
    const bytes = warm.bytes;
    const small = `start=${T0}&end=${T0 + 100_000 * 60}&resolution=60`;
    const json = await requestAll('json', small);
    const compact = await requestAll('f64', small);
    console.log(
      `series API at the JSON limit, 4 × 100000 buckets: JSON ${fmt(json.ms, 0)} ms ${fmt(json.bytes / 1e6, 1)} MB, f64 ${fmt(compact.ms, 0)} ms ${fmt(compact.bytes / 1e6, 1)} MB`,
    );

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(
      (tokens) => localStorage.setItem('auth-tokens', tokens),
      JSON.stringify({ access_token: rt.red.token }),
    );
    // Each run: the requests alone, then the page, back to back, so both meet the same machine load.
    const draw: number[] = [];
    const request: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const alone = await requestAll('f64');
      request.push(alone.ms);
      t = performance.now();
      await page.goto(`${base}/?run=${i}#start=${T0}&end=${T0 + YEAR}&res=60&sensors=${sids.join(',')}`);
      await page.waitForFunction(() => (globalThis as { flmDash?: { drawn?: unknown } }).flmDash?.drawn, null, {
        timeout: 60_000,
      });
      const d = await page.evaluate(
        () =>
          (globalThis as unknown as { flmDash: { drawn: { ms: number; fetchMs: number; points: number } } }).flmDash
            .drawn,
      );
      if (d.points !== served) throw new Error(`the page drew ${d.points} points, the series API served ${served}`);
      draw.push(d.ms);
      console.log(
        `run ${i + 1}: requests alone ${fmt(alone.ms, 0)} ms; page: first draw ${fmt(d.ms, 0)} ms after asking (its requests ${fmt(d.fetchMs, 0)} ms, drawing ${fmt(d.ms - d.fetchMs, 0)} ms), page load to draw ${fmt(performance.now() - t, 0)} ms`,
      );
    }
    const reqMs = median(request);
    console.log(
      `series API, 4 × ${YEAR / 60} buckets (f64, ${fmt(bytes / 1e6, 1)} MB): ${fmt(reqMs, 0)} ms median of ${RUNS}`,
    );
    const drawMs = median(draw);
    console.log(
      `${served} points drawn; time to first draw ${fmt(drawMs, 0)} ms, series requests alone ${fmt(reqMs, 0)} ms`,
    );
    goal('year of minutes, 4 sensors: time to first draw', drawMs, '<', 1000, { digits: 0, unit: ' ms' });
    goal('time to first draw / series requests alone', drawMs / reqMs, '<', 2, {
      note: `${fmt(drawMs, 0)} ms / ${fmt(reqMs, 0)} ms`,
    });
  } finally {
    await browser.close();
    await rt.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
