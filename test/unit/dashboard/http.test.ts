import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TmpoDirReader } from '../../../core/api/store-reader';
import { EventStream } from '../../../core/dashboard/event-stream';
import type { DashboardView } from '../../../core/dashboard/http';
import { LiveState } from '../../../core/dashboard/live-state';
import { encodeSeries } from '../../../core/tmpo/codec';
import { blockPath, span } from '../../../core/tmpo/ids';
import { withTempDir } from '../../support/temp-dir';
import { serveDashboard } from '../../support/dashboard-server';

const SID = 'c1411c6b4f9910bbbab09f145f8533b9';
const T16 = 2 ** 16 * 27000;

/** As flm-dashboard's gate: X-Token is a Flukso user's master token, else the editor's login. */
const viewerOf = (token: string | string[] | undefined) =>
  typeof token === 'string' ? { token } : { admin: true as const };

async function withDashboard(dataDir: string, fn: (base: string, view: DashboardView) => Promise<void>) {
  const state = new LiveState();
  state.setSensors([{ id: SID, name: 'main', type: 'electricity' }]);
  const view: DashboardView = {
    id: 'd1',
    name: 'dashboard',
    deviceId: '0123456789abcdef0123456789abcdef',
    deviceName: 'Home',
    state,
    stream: new EventStream({ maxClients: 1, hello: () => ({ event: 'state', data: state.snapshot() }) }),
    reader: () => TmpoDirReader.open(dataDir).catch(() => undefined),
  };
  const registry = { list: () => [view], get: (id: string) => (id === 'd1' ? view : undefined) };
  const server = await serveDashboard({
    dashboards: registry,
    now: () => T16 + 10 * span(16),
    viewerOf: (req) => viewerOf(req.headers['x-token']),
  });
  try {
    await fn(server.url.slice(0, -1), view); // the tests add '/api/…' and '/index.html' themselves
  } finally {
    view.stream.close();
    await server.close();
  }
}

test('series: the f64 answer holds exactly the JSON answer, gaps as NaN; a year of minutes only in f64', () =>
  withTempDir(async (dir) => {
    // Two level-16 blocks with 10 s samples of a Wh counter, a window of nothing between them.
    let v = 1000;
    for (const bid of [T16, T16 + 2 * span(16)]) {
      const times: number[] = [];
      const values: number[] = [];
      for (let t = bid; t < bid + span(16); t += 10) {
        times.push(t);
        values.push(v);
        v += (t / 10) % 3;
      }
      const file = blockPath(dir, { sid: SID, rid: 0, lvl: 16, bid });
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, encodeSeries({ times, values }, { id: SID, type: 'electricity', data_type: 'counter' }));
    }
    await withDashboard(dir, async (base) => {
      const q = `start=${T16 - 3600}&end=${T16 + 4 * span(16)}&resolution=900`;
      const json = (await (await fetch(`${base}/api/d1/series/${SID}?${q}`)).json()) as {
        series: Array<[number, number | 'nan']>;
        unit: string;
      };
      const r = await fetch(`${base}/api/d1/series/${SID}?${q}&format=f64`);
      assert.equal(r.headers.get('content-type'), 'application/octet-stream');
      const head = JSON.parse(r.headers.get('x-series')!) as { unit: string; start: number; resolution: number };
      assert.equal(head.unit, json.unit);
      const f64 = Array.from(new Float64Array(await r.arrayBuffer()));
      assert.deepEqual(
        f64.map((x) => (Number.isNaN(x) ? 'nan' : x)),
        json.series.map(([, x]) => x),
      );
      assert.ok(json.series.some(([, x]) => x === 'nan'));
      assert.ok(json.series.some(([, x]) => typeof x === 'number' && x > 0));

      const year = `start=${T16}&end=${T16 + 365 * 86400}&resolution=60`;
      assert.equal((await fetch(`${base}/api/d1/series/${SID}?${year}`)).status, 400);
      const big = await fetch(`${base}/api/d1/series/${SID}?${year}&format=f64`);
      assert.equal(big.status, 200);
      assert.equal((await big.arrayBuffer()).byteLength, 525600 * 8);
      assert.equal((await fetch(`${base}/api/d1/series/${SID}?${year}&format=csv`)).status, 400);
      assert.equal((await fetch(`${base}/api/d1/series/not-a-sid?${year}`)).status, 400);
    });
  }));

test('state, list and the event stream (bounded), and the page files', () =>
  withTempDir(async (dir) => {
    await withDashboard(dir, async (base, view) => {
      assert.deepEqual(await (await fetch(`${base}/api/list`)).json(), [
        { id: 'd1', name: 'dashboard', device: 'Home' },
      ]);
      const state = (await (await fetch(`${base}/api/d1/state`)).json()) as { sensors: Array<{ sid: string }> };
      assert.equal(state.sensors[0]!.sid, SID);
      assert.equal((await fetch(`${base}/api/d2/state`)).status, 404);
      // No store yet: history answers 404, not an error.
      assert.equal((await fetch(`${base}/api/d1/series/${SID}?start=${T16}&end=${T16 + 60}`)).status, 404);

      const ctl = new AbortController();
      const events = await fetch(`${base}/api/d1/events`, { signal: ctl.signal });
      assert.equal(events.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = events.body!.getReader();
      let text = '';
      const readUntil = async (what: string) => {
        while (!text.includes(what)) text += new TextDecoder().decode((await reader.read()).value);
      };
      await readUntil('event: state');
      for (const c of view.state.handle(`/sensor/${SID}/gauge`, [1700000000, 42, 'W']))
        view.stream.send(c.event, c.data);
      await readUntil('"value":42');
      assert.match(text, /event: reading\ndata: \{"sid":"c1411c6b4f9910bbbab09f145f8533b9","kind":"gauge"/);
      // One page at a time here: a second is refused.
      assert.equal((await fetch(`${base}/api/d1/events`)).status, 503);
      ctl.abort();

      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
      assert.equal((await fetch(`${base}/uPlot.js`)).status, 200);
      assert.equal((await fetch(`${base}/../package.json`)).status, 404);
    });
  }));

test('a master token (X-Token) opens no device dashboard: not listed, its data 403', () =>
  withTempDir(async (dir) => {
    await withDashboard(dir, async (base) => {
      const asUser = { headers: { 'X-Token': 'f'.repeat(32) } };
      assert.deepEqual(await (await fetch(`${base}/api/list`, asUser)).json(), []);
      assert.equal((await fetch(`${base}/api/d1/state`, asUser)).status, 403);
      assert.equal((await fetch(`${base}/api/d1/series/${SID}?start=${T16}`, asUser)).status, 403);
      assert.equal((await fetch(`${base}/api/d1/events`, asUser)).status, 403);
      assert.equal((await fetch(`${base}/api/d1/state`)).status, 200);
    });
  }));
