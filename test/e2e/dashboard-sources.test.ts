/**
 * The dashboard page with a P1 meter's sensors and an FLM03 board's ports, in Chromium: the
 * page's routes (core/dashboard/http.ts) on a plain loopback server fed by LiveState as
 * flm-dashboard feeds it, so each source's messages can be played exactly. The login in front of
 * these routes is Node-RED's, checked in dashboard.test.ts. Screenshots go to
 * test-output/dashboard-p1-board*.png.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { EventStream } from '../../core/dashboard/event-stream';
import type { DashboardView } from '../../core/dashboard/http';
import { LiveState } from '../../core/dashboard/live-state';
import { repoRoot } from '../support/paths';
import { serveDashboard, type DashboardServer } from '../support/dashboard-server';

const OUT = join(repoRoot, 'test-output');
const BASE = '/flm/dashboard/';
const NET = '11111111111111111111111111111111';
const IMPORT = '22222222222222222222222222222222';
const EXPORT = '33333333333333333333333333333333';
const GAS = '44444444444444444444444444444444';

let server: DashboardServer | undefined;
let browser: Browser | undefined;
let url = '';
const state = new LiveState();
const stream = new EventStream({ hello: () => ({ event: 'state', data: state.snapshot() }) });

/** Play a message as flm-dashboard does: into the state, changes onto the stream. */
function play(topic: string, payload: unknown, flm?: unknown): void {
  for (const c of state.handle(topic, payload, flm)) stream.send(c.event, c.data);
}

before(async () => {
  const view: DashboardView = {
    id: 'd1',
    name: 'dashboard',
    deviceId: '0123456789abcdef0123456789abcdef',
    deviceName: 'P1 and board',
    state,
    stream,
    reader: async () => undefined,
  };
  const registry = { list: () => [view], get: (id: string) => (id === 'd1' ? view : undefined) };
  server = await serveDashboard({ dashboards: registry, base: BASE });
  url = server.url;
  state.setSensors([
    { id: NET, name: 'grid', type: 'electricity', p1: 'net' },
    { id: IMPORT, name: 'grid import', type: 'electricity', p1: 'delivered' },
    { id: EXPORT, name: 'grid export', type: 'electricity', p1: 'returned' },
    { id: GAS, name: 'gas', type: 'gas', p1: 'gas' },
  ]);
  const ts = Math.floor(Date.now() / 1000);
  play(`/sensor/${IMPORT}/counter`, [ts, 1234567, 'Wh']);
  play(`/sensor/${EXPORT}/counter`, [ts, 765432, 'Wh']);
  play(`/sensor/${GAS}/counter`, [ts, 4321000, 'L']);
  play(`/sensor/${NET}/gauge`, [ts, 420, 'W']);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  stream.close();
  await server?.close();
});

test('P1: net power shown as import or export by its sign, registers as import and export; FLM03 port gauges', async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  await page.goto(url);
  const net = page.locator(`.tile[data-sid="${NET}"]`);
  await net.locator('.power .value').waitFor();
  assert.equal(await net.locator('.role').textContent(), 'import');
  assert.equal(await net.locator('.power .value').textContent(), '420');
  await page.locator('#conn.live').waitFor({ state: 'attached' });

  // The sun comes out: the meter's net power goes negative, live.
  play(`/sensor/${NET}/gauge`, [Math.floor(Date.now() / 1000), -1850, 'W']);
  await page.waitForFunction(
    (sid) => document.querySelector(`.tile[data-sid="${sid}"] .role`)?.textContent === 'export',
    NET,
  );
  assert.equal(await net.locator('.power .value').textContent(), '1,850');
  assert.match((await net.getAttribute('class')) ?? '', /exporting/);
  assert.equal(await page.locator(`.tile[data-sid="${IMPORT}"] .role`).textContent(), 'import');
  assert.equal(await page.locator(`.tile[data-sid="${EXPORT}"] .role`).textContent(), 'export');

  // An FLM03 board's second: per clamp port power, voltage, current and power factor.
  assert.equal(await page.locator('#ports-section').isHidden(), true, 'no ports before a board speaks');
  play('board/batch', {
    time: Date.now(),
    records: [1, 2, 3].flatMap((port) => [
      { kind: 'gauge', port, subtype: 'pplus', value: 1000 * port },
      { kind: 'gauge', port, subtype: 'pminus', value: 0 },
      { kind: 'gauge', port, subtype: 'vrms', value: 230 + port / 10 },
      { kind: 'gauge', port, subtype: 'irms', value: 4.35 * port },
      { kind: 'gauge', port, subtype: 'pf', value: 0.9 + port / 100 },
    ]),
  });
  await page.locator('#ports .port').nth(2).waitFor();
  const port1 = await page.locator('#ports .port').first().locator('.v').allTextContents();
  assert.deepEqual(port1, ['1,000 W', '230.1 V', '4.35 A', '0.91']);
  await page.screenshot({ path: join(OUT, 'dashboard-p1-board.png'), fullPage: true });
  await page.close();
});

test('the page speaks Dutch to a Dutch browser', async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 800 }, locale: 'nl-BE' });
  await page.goto(url);
  await page.locator(`.tile[data-sid="${NET}"] .power .value`).waitFor();
  assert.equal(await page.locator('#live h2').textContent(), 'Nu');
  assert.equal(await page.locator(`.tile[data-sid="${EXPORT}"] .role`).textContent(), 'injectie');
  assert.equal(await page.locator('#ranges button[data-range="day"]').textContent(), 'dag');
  await page.screenshot({ path: join(OUT, 'dashboard-p1-board-nl.png'), fullPage: true });
  await page.close();
});
