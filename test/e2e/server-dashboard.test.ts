/**
 * The dashboard page in server mode (issue #17), in Chromium: the page's routes
 * (core/dashboard/http.ts) over a real Flukso server's registry and store, two users' devices,
 * a sensor of Alice's shared with Bob. Bob logs in with his master token and gets his own and
 * the shared sensor, two devices overlaid in one chart, and an upload of the shared sensor live
 * on its tile with its age; the admin sees every device. The route
 * check itself, behind Node-RED's login, is in test/node/server-dashboard.test.ts. Screenshots go
 * to test-output/server-dashboard-*.png.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { FleetSource, FleetView, Viewer } from '../../core/dashboard/fleet';
import { FleetStream } from '../../core/dashboard/fleet-stream';
import { xDigest } from '../../core/upload/digest';
import { serveDashboard, type DashboardServer } from '../support/dashboard-server';
import { FileRegistry } from '../../core/server/registry';
import { FluksoServer } from '../../core/server/service';
import { sensorAccess, visibleSensors } from '../../core/server/visible-sensors';
import { tempDir } from '../support/temp-dir';
import { repoRoot } from '../support/paths';

const OUT = join(repoRoot, 'test-output');
const BASE = '/flm/dashboard/';
const ADMIN = 'the-editor-login';
const DA = 'da000000000000000000000000000001';
const DB = 'db000000000000000000000000000002';
const KEY = 'ee000000000000000000000000000000';
const A1 = 'a1000000000000000000000000000001';
const A2 = 'a2000000000000000000000000000002';
const B1 = 'b1000000000000000000000000000001';
const T0 = Math.floor((Date.now() / 1000 - 86400) / 3600) * 3600;

let http: DashboardServer | undefined;
let flukso: FluksoServer | undefined;
let browser: Browser | undefined;
let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
let url = '';
let tokenB = '';
let stream: FleetStream | undefined;

/** Two hours of minutes; the counter rises by step(i) Wh in minute i. */
function counter(step: (i: number) => number) {
  const times: number[] = [];
  const values: number[] = [];
  for (let i = 0, c = 0; i <= 120; c += step(i), i++) {
    times.push(T0 + i * 60);
    values.push(c);
  }
  return { times, values };
}

const table = (sections: Array<[string, string]>) =>
  Object.fromEntries([
    ['main', {}],
    ...sections.map(([id, name], i) => [
      String(i + 1),
      { id, type: 'electricity', class: 'analog', function: name, enable: 1, data_type: 'counter' },
    ]),
  ]);

before(async () => {
  dir = await tempDir('server-dash-');
  const reg = await FileRegistry.open(join(dir.path, 'server'));
  await reg.addUser('alice');
  tokenB = await reg.addUser('bob');
  await reg.addDevice(DA, KEY, 'alice', [A1, A2]);
  await reg.addDevice(DB, KEY, 'bob', [B1]);
  await reg.applySensorConfig(
    DA,
    table([
      [A1, 'house'],
      [A2, 'heat pump'],
    ]),
  );
  await reg.applySensorConfig(DB, table([[B1, 'flat']]));
  await reg.share(A1, 'bob');
  flukso = await FluksoServer.start({ dataDir: dir.path, port: 0 });
  await flukso.store.addReadings(
    A1,
    0,
    counter(() => 10),
  ); // 600 W
  await flukso.store.addReadings(
    A2,
    0,
    counter(() => 20),
  ); // 1200 W
  await flukso.store.addReadings(
    B1,
    0,
    counter((i) => (i < 60 ? 5 : 15)),
  ); // 300 W, then 900 W
  // And the last ten minutes of the flat, 900 W: the tiles show the last stored minute.
  const R = Math.floor(Date.now() / 60000) * 60;
  const recent = Array.from({ length: 10 }, (_, i) => R - 600 + i * 60);
  await flukso.store.addReadings(B1, 0, { times: recent, values: recent.map((_, i) => 100_000 + 15 * i) });
  await flukso.store.flush();
  const store = flukso.store;
  const registry = flukso.registry;
  const fleet: FleetSource = {
    sensors: (v: Viewer) => visibleSensors(registry, 'admin' in v ? undefined : v.token),
    access: (v: Viewer, sid: string) => sensorAccess(registry, 'admin' in v ? undefined : v.token, sid),
    reader: store,
    live: flukso.bridgeBackend.live!,
  };
  stream = new FleetStream(fleet);
  const view: FleetView = { id: 'srv', name: 'all devices', fleet, stream };
  const views = { list: () => [view], get: (id: string) => (id === 'srv' ? view : undefined) };
  http = await serveDashboard({
    dashboards: views,
    base: BASE,
    // As flm-dashboard's gate: X-Token is a Flukso user, else the editor's login (here one fixed token).
    viewerOf: (req) => {
      const token = req.headers['x-token'];
      if (typeof token === 'string' && token) return { token };
      return req.headers.authorization === `Bearer ${ADMIN}` ? { admin: true } : undefined;
    },
  });
  url = `${http.url}#start=${T0}&end=${T0 + 7200}&res=60`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  stream?.close();
  await http?.close();
  await flukso?.close();
  await dir?.remove();
});

interface Chart {
  xs: number[];
  ys: Array<Array<number | null>>;
  sids: string[];
}

async function chartOf(page: import('playwright-core').Page, sids: number): Promise<Chart> {
  await page.waitForFunction((n) => {
    const w = window as unknown as { flmDash?: { chart?: () => { sids: string[] } } };
    return w.flmDash?.chart?.().sids.length === n;
  }, sids);
  return page.evaluate(() => (window as unknown as { flmDash: { chart: () => Chart } }).flmDash.chart());
}

test('Bob logs in with his master token: his flat and the house Alice shared, two devices in one chart', async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 760 }, locale: 'en-US' });
  await page.goto(url);
  await page.locator('#login-token').fill(tokenB);
  await page.locator('#token-submit').click();
  const chart = await chartOf(page, 2);
  assert.deepEqual(chart.sids, [A1, B1]);
  assert.equal(chart.xs.length, 120);
  assert.deepEqual([chart.ys[0]![0], chart.ys[0]![119]], [600, 600]);
  assert.deepEqual([chart.ys[1]![0], chart.ys[1]![59], chart.ys[1]![60], chart.ys[1]![119]], [300, 300, 900, 900]);
  assert.deepEqual(await page.locator('#pick .device').allTextContents(), ['alice · da000000', 'bob · db000000']);
  assert.deepEqual(await page.locator('#pick .n').allTextContents(), ['house', 'flat']);
  assert.match((await page.locator('#live-note').textContent()) ?? '', /with each upload/);
  // Before any upload: the tiles hold each chart sensor's last stored minute (none of the house's in the last hour).
  await page.locator(`.tile[data-sid="${B1}"] .power .value`).filter({ hasText: '900' }).waitFor();
  assert.equal(await page.locator(`.tile[data-sid="${A1}"] .power .value`).textContent(), '–');
  // An FLM's upload of the house, a minute of 20 Wh: 1200 W live on the tile, with its age.
  await page.locator('#conn.live').waitFor();
  const now = Math.floor(Date.now() / 1000) - 120;
  const body = JSON.stringify({
    measurements: [
      [now - 60, 50_000],
      [now, 50_020],
    ],
  });
  const r = await fetch(new URL(`sensor/${A1}`, flukso!.url), {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/json', 'X-Version': '1.0', 'X-Digest': xDigest(KEY, body) },
  });
  assert.equal(r.status, 200, await r.text());
  await page.locator(`.tile[data-sid="${A1}"] .power .value`).filter({ hasText: '1,200' }).waitFor();
  assert.match((await page.locator(`.tile[data-sid="${A1}"] .age`).textContent()) ?? '', /2 minutes ago/);
  assert.equal(
    await page.locator(`.tile[data-sid="${A1}"] .energy`).count(),
    0,
    'no use since a start the page made up',
  );
  assert.equal(await page.locator(`.tile[data-sid="${B1}"] .name`).textContent(), 'bob · db000000 · flat');
  assert.equal(await page.locator('#ports-section').isHidden(), true);
  await page.screenshot({ path: join(OUT, 'server-dashboard-bob.png'), fullPage: true });
  await page.close();
});

test('the admin (the editor login) sees every device; Alice\u2019s heat pump joins the chart', async () => {
  const ctx = await browser!.newContext({ viewport: { width: 1280, height: 760 }, locale: 'en-US' });
  await ctx.addInitScript((t) => localStorage.setItem('auth-tokens', JSON.stringify({ access_token: t })), ADMIN);
  const page = await ctx.newPage();
  await page.goto(url);
  const chart = await chartOf(page, 3);
  assert.deepEqual(chart.sids, [A2, A1, B1]);
  assert.equal(chart.ys[0]![10], 1200);
  assert.deepEqual(await page.locator('#pick .n').allTextContents(), ['heat pump', 'house', 'flat']);
  await page.screenshot({ path: join(OUT, 'server-dashboard-admin.png'), fullPage: true });
  await ctx.close();
});
