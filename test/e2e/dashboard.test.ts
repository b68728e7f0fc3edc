/**
 * The dashboard as a person meets it: `npm start` (dist/scripts/start.js, the default flow with
 * the simulator), Debian's Chromium (playwright-core, never a downloaded browser) logging in on
 * the dashboard page with the generated editor password, the live tiles against what
 * `mosquitto_sub` sees on the embedded broker, and a day chart of TMPO history written with the
 * repository's own codec, checked point by point against flm-tmpo's series API. Screenshots go to
 * test-output/dashboard-*.png.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { encodeSeries } from '../../core/tmpo/codec';
import { blockId, blockPath, span } from '../../core/tmpo/ids';
import { ADMIN_PASSWORD_FILE } from '../../scripts/start-auth';
import { login } from '../support/e2e/admin-api';
import { untilListening } from '../support/net';
import { waitFor } from '../support/nodered';
import { repoRoot } from '../support/paths';
import { startPipeline } from '../support/start-pipeline';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
const OUT = join(repoRoot, 'test-output');
const DAY = 86_400;

type Pipeline = Awaited<ReturnType<typeof startPipeline>>;
let p: Pipeline | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
let base = '';
let token = '';
let mainSid = '';

interface Probe {
  seen: Record<string, Array<{ ts: number; value: number; at: number }>>;
  drawn: { points: number; buckets: number; res: number; start: number; end: number } | null;
  chart?: () => { xs: number[]; ys: Array<Array<number | null>>; sids: string[] };
}

/** Poll an async probe until it gives a value. */
async function poll<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${p?.run.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  p = await startPipeline({ FLM_DEVICE_ID: '0123456789abcdef0123456789abcdef' });
  base = `http://127.0.0.1:${p.ui}`;
  await untilListening(p.ui, p.run.output, '127.0.0.1', 60_000);
  await waitFor('the banner', () => /flm: dashboard on /.test(p!.run.output()), 60_000);
  const password = readFileSync(join(p.dir.path, 'data', ADMIN_PASSWORD_FILE), 'utf8').trim();
  token = await login(base, 'admin', password);
  mainSid = await poll(
    'the main sensor on the dashboard',
    async () => {
      const r = await fetch(`${base}/flm/dashboard/api/flm.dash/state`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      if (r.status !== 200) return undefined;
      const state = (await r.json()) as { sensors: Array<{ sid: string; name: string; gauge?: unknown }> };
      return state.sensors.find((s) => s.name === 'main' && s.gauge)?.sid;
    },
    60_000,
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await p?.run.stop();
  await p?.dir.remove();
});

test('npm start prints the dashboard URL in its banner', () => {
  assert.match(p!.run.output(), new RegExp(`flm: dashboard on http://127\\.0\\.0\\.1:${p!.ui}/flm/dashboard/`));
});

test('no data endpoint answers without the editor login; the page itself holds no data', async () => {
  const paths = [
    'list',
    'flm.dash/state',
    'flm.dash/events',
    `flm.dash/series/${mainSid}?start=${Math.floor(Date.now() / 1000) - 3600}`,
    'nothing/here',
  ];
  for (const path of paths) {
    for (const headers of [{}, { Authorization: 'Bearer not-a-token' }] as Array<Record<string, string>>) {
      const r = await fetch(`${base}/flm/dashboard/api/${path}`, { headers, signal: AbortSignal.timeout(5000) });
      const body = await r.text();
      assert.equal(r.status, 401, `${path} with ${JSON.stringify(headers)}: ${r.status} ${body.slice(0, 200)}`);
      assert.ok(!body.includes(mainSid), `${path} leaks a sensor id`);
    }
  }
  for (const file of ['', 'dashboard.js', 'dashboard.css', 'uPlot.js', 'uPlot.css']) {
    const r = await fetch(`${base}/flm/dashboard/${file}`);
    assert.equal(r.status, 200, `the page's ${file || 'index.html'} loads without a login`);
    assert.ok(!(await r.text()).includes(mainSid));
  }
  const withLogin = await fetch(`${base}/flm/dashboard/api/list`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(withLogin.status, 200);
});

test('log in on the dashboard; the live value of a sensor follows mosquitto_sub within a second', async () => {
  const pg = page!;
  await pg.goto(`${base}/flm/dashboard/`);
  await pg.locator('#login-user').waitFor({ state: 'visible' });
  assert.equal(await pg.locator('.tile').count(), 0, 'no tiles before the login');
  await pg.screenshot({ path: join(OUT, 'dashboard-login.png') });
  const password = readFileSync(join(p!.dir.path, 'data', ADMIN_PASSWORD_FILE), 'utf8').trim();
  await pg.locator('#login-user').fill('admin');
  await pg.locator('#login-password').fill(password);
  await pg.locator('#login-submit').click();
  await pg.locator(`.tile[data-sid="${mainSid}"] .power .value`).waitFor({ state: 'visible', timeout: 30_000 });
  assert.ok(
    await pg.evaluate(() => !!localStorage.getItem('auth-tokens')),
    'the token is kept where the editor keeps it',
  );
  await pg.locator('#conn.live').waitFor({ state: 'attached' });

  const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(p!.mqttPort), '-t', `/sensor/${mainSid}/gauge`]);
  const got: Array<{ ts: number; value: number; at: number }> = [];
  let buf = '';
  sub.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const [ts, value] = JSON.parse(buf.slice(0, i)) as [number, number, string];
      got.push({ ts, value, at: Date.now() });
      buf = buf.slice(i + 1);
    }
  });
  try {
    // The first line is the retained reading; then 3 live ones.
    await waitFor('4 gauges on mosquitto_sub', () => got.length >= 4, 20_000);
    for (const m of got.slice(1, 4)) {
      const onPage = await pg.waitForFunction(
        ([sid, ts]) =>
          ((globalThis as unknown as { flmDash: Probe }).flmDash.seen[`${sid}/gauge`] as Array<{ ts: number }>)?.find(
            (r) => r.ts === ts,
          ),
        [mainSid, m.ts] as const,
        { timeout: 5000 },
      );
      const r = (await onPage.jsonValue()) as { ts: number; value: number; at: number };
      assert.equal(r.value, m.value, `the page's reading at ${m.ts} is the broker's`);
      assert.ok(r.at - m.at < 1000, `the page had the reading of ${m.ts} ${r.at - m.at} ms after mosquitto_sub`);
    }
  } finally {
    sub.kill();
  }
  // What the tile shows is the latest reading the page took.
  await pg.waitForFunction(
    (sid) => {
      const seen = (globalThis as unknown as { flmDash: Probe }).flmDash.seen[`${sid}/gauge`]!;
      const last = seen[seen.length - 1]!;
      const shown = document.querySelector(`.tile[data-sid="${sid}"] .power .value`)?.textContent ?? '';
      return shown.replace(/,/g, '') === String(Math.round(Math.abs(last.value)));
    },
    mainSid,
    { timeout: 3000 },
  );
  // Today's chart goes on with the live readings where the stored history ends.
  const last = got[got.length - 1]!;
  const liveChart = await pg.evaluate(
    ([sid, ts]) => {
      const c = (globalThis as unknown as { flmDash: Probe }).flmDash.chart!();
      const k = c.xs.findIndex((x) => x >= ts);
      return { k, y: c.ys[c.sids.indexOf(sid)]![k] };
    },
    [mainSid, last.ts] as const,
  );
  assert.ok(liveChart.k >= 0, "today's chart holds now");
  assert.equal(typeof liveChart.y, 'number', 'the bucket of the last reading has a value');
  await pg.screenshot({ path: join(OUT, 'dashboard-live.png'), fullPage: true });
});

test('the day chart of a store with days of history draws the series API answer, gaps as gaps', async () => {
  const pg = page!;
  const dataDir = join(p!.dir.path, 'data');
  // History that flm-tmpo's own blocks never touch: level-16 windows that closed before the current one.
  const now = Math.floor(Date.now() / 1000);
  const current16 = blockId(now, 16);
  const day = Math.floor((current16 - DAY) / DAY) * DAY - DAY;
  // The history starts at 05:00 of the charted day: before that the chart must show nothing.
  const from = day + 5 * 3600;
  const cfg = { id: mainSid, type: 'electricity', class: 'analog', data_type: 'counter', rid: 0, function: 'main' };
  let counter = 5_000_000;
  const times: number[] = [];
  const values: number[] = [];
  for (let t = from; t < current16; t += 60) {
    times.push(t);
    values.push(counter);
    counter += Math.round(20 + 15 * Math.sin(t / 5000) + (t % 7));
  }
  for (let bid = blockId(from, 16); bid < current16; bid += span(16)) {
    const keep = times.map((t, i) => [t, i] as const).filter(([t]) => t >= bid && t < bid + span(16));
    if (!keep.length) continue;
    const file = blockPath(dataDir, { sid: mainSid, rid: 0, lvl: 16, bid });
    mkdirSync(dirname(file), { recursive: true });
    const series = { times: keep.map(([t]) => t), values: keep.map(([, i]) => values[i]!) };
    writeFileSync(file, encodeSeries(series, cfg));
  }

  // What flm-tmpo's series API answers for that day, with its own token.
  const tk = (await (
    await fetch(`${base}/flm-tmpo/flm.tmpo/api-token`, { headers: { Authorization: `Bearer ${token}` } })
  ).json()) as { token: string };
  const api = (await (
    await fetch(`http://127.0.0.1:${p!.api}/sensor/${mainSid}/series?start=${day}&end=${day + DAY}&resolution=60`, {
      headers: { 'X-Version': '1.0', 'X-Token': tk.token },
    })
  ).json()) as { series: Array<[number, number | 'nan']> };
  assert.equal(api.series.length, 1440);
  const expectedPoints = api.series.filter(([, v]) => v !== 'nan').length;
  assert.ok(expectedPoints > 1000 && expectedPoints < 1440, `${expectedPoints} points, some missing`);

  await pg.goto(`${base}/flm/dashboard/#range=day&at=${day + 3600}&sensors=${mainSid}`);
  await pg.reload();
  await pg.waitForFunction(() => (globalThis as unknown as { flmDash: Probe }).flmDash.drawn?.buckets === 1440, null, {
    timeout: 30_000,
  });
  const chart = await pg.evaluate(() => {
    const d = (globalThis as unknown as { flmDash: Probe }).flmDash;
    return { drawn: d.drawn!, ...d.chart!() };
  });
  assert.deepEqual(chart.sids, [mainSid]);
  assert.equal(chart.drawn.points, expectedPoints, 'points drawn');
  assert.deepEqual(
    chart.xs,
    api.series.map(([t]) => t),
  );
  assert.deepEqual(
    chart.ys[0],
    api.series.map(([, v]) => (v === 'nan' ? null : v)),
  );
  // The gap: nothing until 05:00, values after.
  const at = (h: number) => chart.ys[0]![h * 60 - 1];
  assert.equal(at(4), null);
  assert.notEqual(at(6), null);
  assert.notEqual(at(23), null);
  assert.equal(
    await pg
      .locator('#period')
      .textContent()
      .then((t) => /20\d\d/.test(t ?? '')),
    true,
  );
  await pg.screenshot({ path: join(OUT, 'dashboard-day.png'), fullPage: true });

  // Zoom in with the wheel around 15:00: once it rests, the part in view comes again, finer.
  const over = pg.locator('#chart .u-over');
  const box = (await over.boundingBox())!;
  await pg.mouse.move(box.x + box.width * (15 / 24), box.y + box.height / 2);
  for (let i = 0; i < 12; i++) await pg.mouse.wheel(0, -100);
  await pg.waitForFunction(() => ((globalThis as unknown as { flmDash: Probe }).flmDash.drawn?.res ?? 60) < 60, null, {
    timeout: 10_000,
  });
  const fine = await pg.evaluate(() => (globalThis as unknown as { flmDash: Probe }).flmDash.drawn!);
  assert.ok(fine.start >= day && fine.end <= day + DAY, `the finer window ${fine.start}..${fine.end} lies in the day`);
  assert.ok(fine.start < day + 15 * 3600 && fine.end > day + 15 * 3600, 'around where the wheel turned');
  await pg.screenshot({ path: join(OUT, 'dashboard-day-zoomed.png'), fullPage: true });
  // Double-click: the whole day again.
  await over.dblclick();
  await pg.waitForFunction(() => (globalThis as unknown as { flmDash: Probe }).flmDash.drawn?.res === 60, null, {
    timeout: 10_000,
  });
});
