import { promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { BlockVanishedError, type TmpoReader } from '../api/blocks';
import { parseSeriesQuery, seriesJson, seriesValues } from '../api/series-api';
import { isSid } from '../tmpo/ids';
import type { EventStream } from './event-stream';
import type { FleetView, Viewer } from './fleet';
import type { LiveState } from './live-state';

/**
 * The dashboard's HTTP side, mounted on Node-RED's admin server by flm-dashboard:
 *
 * - `GET <base>/` and `<base>/<file>`: the page, its script and style and uPlot, shipped in the
 *   package. They hold no data, so they load without a login; the page then logs in with the
 *   editor's own token exchange and keeps the token where the editor does.
 * - `GET <base>/api/...`: the data, which the node mounts behind the editor's login (Node-RED's
 *   `needsPermission`, a 401 without a valid Bearer token):
 *   - `list`: the deployed dashboards;
 *   - `<id>/state`: device, sensors with their latest readings, FLM03 ports;
 *   - `<id>/events`: the same changes as Server-Sent Events;
 *   - `<id>/series/<sid>?start=&end=&resolution=&unit=&format=`: the series API's answer over the
 *     device's TMPO store (core/api/series-api.ts); `format=f64` gives the bucket values alone
 *     as little-endian doubles (NaN for a gap) with the answer's other fields in the
 *     `X-Series` header, which allows a year of minutes (the JSON answer stops at
 *     MAX_BUCKETS) at a fraction of the bytes and no parsing in the browser.
 *
 * A server dashboard (a FleetView, core/dashboard/fleet.ts) answers `state` with the sensors of
 * every device the viewer may read (device id, owner, name), `series` over the server's store and
 * `events` with the newest reading each upload or block brought, of those sensors only
 * (core/dashboard/fleet-stream.ts). Its viewer is the editor's login
 * (everything) or a Flukso user's master token (own and shared sensors: another sensor is 403,
 * a token nobody has 401). A token opens no device dashboard.
 */

export interface DashboardView {
  id: string;
  name: string;
  deviceId: string;
  deviceName: string;
  state: LiveState;
  stream: EventStream;
  /** the device's TMPO store, or undefined while it does not exist yet */
  reader(): Promise<TmpoReader | undefined>;
}

/** Buckets of the compact answer: a year of minutes and some (8 MB of doubles per sensor). */
const MAX_COMPACT_BUCKETS = 1_100_000;

const PAGE_DIR = join(__dirname, '..', '..', '..', 'resources', 'dashboard');
const UPLOT_DIR = (() => {
  try {
    return join(require.resolve('uplot/dist/uPlot.iife.min.js'), '..');
  } catch {
    return undefined;
  }
})();

const STATIC: Record<string, { dir: string | undefined; file: string; type: string }> = {
  '': { dir: PAGE_DIR, file: 'index.html', type: 'text/html; charset=utf-8' },
  'dashboard.js': { dir: PAGE_DIR, file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { dir: PAGE_DIR, file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  'uPlot.js': { dir: UPLOT_DIR, file: 'uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uPlot.css': { dir: UPLOT_DIR, file: 'uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/** Answer a request for one of the page's files (`name` is the path after the base); false if it is none. */
export async function servePageFile(name: string, res: ServerResponse): Promise<boolean> {
  const f = STATIC[name];
  if (!f?.dir) return false;
  const body = await fs.readFile(join(f.dir, f.file));
  res.writeHead(200, {
    'Content-Type': f.type,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    ...(f.file === 'index.html' ? { 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY' } : {}),
  });
  res.end(body);
  return true;
}

/** Scripts and styles from this origin only: the page needs nothing else. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

type AnyView = DashboardView | FleetView;

const isFleet = (d: AnyView): d is FleetView => 'fleet' in d;

/** Answer a data request; `path` is what follows `<base>/api/`. */
export async function serveApi(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  dashboards: { list(): AnyView[]; get(id: string): AnyView | undefined },
  now: () => number = () => Date.now() / 1000,
  viewer: Viewer = { admin: true },
): Promise<void> {
  const [id, what, sid, ...rest] = path.split('/');
  if (id === 'list' && what === undefined) return list(res, dashboards.list(), viewer);
  const d = id ? dashboards.get(id) : undefined;
  if (!d) return text(res, 404, 'no such dashboard (deployed?)');
  if (isFleet(d)) return fleetApi(d, what, sid, rest.length, req, res, now(), viewer);
  if (!('admin' in viewer)) return text(res, 403, 'a device dashboard needs the editor login');
  if (what === 'state' && sid === undefined) {
    return json(res, { id: d.id, name: d.name, device: { id: d.deviceId, name: d.deviceName }, ...d.state.snapshot() });
  }
  if (what === 'events' && sid === undefined) return d.stream.open(req, res);
  if (what === 'series' && sid !== undefined && rest.length === 0)
    return series(() => d.reader(), sid, req, res, now());
  return text(res, 404, 'not found');
}

async function list(res: ServerResponse, views: AnyView[], viewer: Viewer): Promise<void> {
  const row = (d: AnyView) => ({ id: d.id, name: d.name, device: isFleet(d) ? 'server' : d.deviceName });
  if ('admin' in viewer) return json(res, views.map(row));
  const fleets = views.filter(isFleet);
  const known = await Promise.all(fleets.map(async (d) => (await d.fleet.sensors(viewer)) !== undefined));
  if (fleets.length > 0 && !known.some(Boolean)) return unauthorized(res);
  json(res, fleets.filter((_, i) => known[i]).map(row));
}

async function fleetApi(
  d: FleetView,
  what: string | undefined,
  sid: string | undefined,
  extra: number,
  req: IncomingMessage,
  res: ServerResponse,
  now: number,
  viewer: Viewer,
): Promise<void> {
  if (what === 'state' && sid === undefined) {
    const sensors = await d.fleet.sensors(viewer);
    if (!sensors) return unauthorized(res);
    return json(res, { id: d.id, name: d.name, server: true, sensors });
  }
  if (what === 'events' && sid === undefined) {
    if (!d.stream) return text(res, 404, 'this server offers no live readings');
    const sensors = await d.fleet.sensors(viewer);
    if (!sensors) return unauthorized(res);
    return d.stream.open(req, res, viewer, sensors);
  }
  if (what === 'series' && sid !== undefined && extra === 0) {
    if (!isSid(sid)) return text(res, 400, 'a sensor id is 32 lowercase hex characters');
    const access = await d.fleet.access(viewer, sid);
    if (access === 401) return unauthorized(res);
    if (access === 403) return text(res, 403, `this token may not read sensor ${sid}`);
    if (access === 404) return text(res, 404, `no sensor ${sid} on this server`);
    return series(async () => d.fleet.reader, sid, req, res, now);
  }
  return text(res, 404, 'not found');
}

async function series(
  reader: () => Promise<TmpoReader | undefined>,
  sid: string,
  req: IncomingMessage,
  res: ServerResponse,
  now: number,
) {
  if (!isSid(sid)) return text(res, 400, 'a sensor id is 32 lowercase hex characters');
  const params = new URL(req.url ?? '/', 'http://dashboard').searchParams;
  const format = params.get('format') ?? 'json';
  params.delete('format');
  if (format !== 'json' && format !== 'f64') return text(res, 400, 'format must be json or f64');
  const query = parseSeriesQuery(params, now, format === 'f64' ? MAX_COMPACT_BUCKETS : undefined);
  if (typeof query === 'string') return text(res, 400, query);
  const store = await reader();
  if (!store) return text(res, 404, 'no TMPO history yet');
  // A block can go between listing and reading when compaction moves it; listing again finds the parent.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      if (format === 'json') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        return void res.end(await seriesJson(store, sid, query));
      }
      const v = await seriesValues(store, sid, query);
      const head = { sid, rid: v.rid, start: query.start, end: query.end, resolution: query.resolution, unit: v.unit };
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Cache-Control': 'no-store',
        'X-Series': JSON.stringify({ ...head, levels: v.levels, blocks: v.blocks }),
      });
      return void res.end(littleEndian(v.values));
    } catch (err) {
      if (!(err instanceof BlockVanishedError)) throw err;
    }
  }
  text(res, 503, 'the TMPO store kept changing while it was read; try again');
}

/** The doubles' bytes in little-endian order, whatever this machine's order is. */
function littleEndian(values: Float64Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) out.writeDoubleLE(values[i]!, i * 8);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'WWW-Authenticate': 'X-Token realm="flukso"',
  });
  res.end("this token is nobody's\n");
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body + '\n');
}
