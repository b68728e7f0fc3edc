import { Buckets } from '../api/buckets';
import { guard, withApiHeaders } from '../api/tmpo-api';
import { isCallbackName, jsonReply, textReply, type ApiReply, type ApiRequest } from '../api/reply';
import type { Tokens } from '../api/auth';
import type { Registry, SensorRecord } from './registry';
import type { ReadingStore } from './store/types';

/**
 * The Flukso REST API's time series, `GET /sensor/<sid>` (docs/protocols/server.md#rest):
 *
 * - `interval` = minute, 15min, hour, day, week, month (30 d), year (365 d), decade (3650 d) or
 *   night, **or** `start` [+ `end`] (Unix seconds; `end` defaults to now); never both.
 * - `resolution` = minute, 15min, hour, day, week or a number of seconds; the default follows the
 *   Flukso server's table (15min, hour -> minute; day -> 15min; week, month, night -> day;
 *   year, decade -> week; minute -> minute; start/end -> minute).
 * - `unit` = watt, kwhperyear, eurperyear, audperyear, lpermin, lperday, m3peryear: the counter's
 *   average rate over each bucket times the Flukso server's factor; default watt, lperday for a
 *   water or gas sensor.
 * - The answer is `[[ts,value],...]`, ts the **end** of each bucket, buckets aligned to multiples
 *   of the resolution (an interval's last bucket is the last whole one before now). A bucket
 *   whose start or end counter is unknown, because no reading lies on both sides of that edge
 *   within `maxGap` seconds (default 3600), is `"nan"`. Values are rounded to 3 decimals.
 * - `night`: the last 30 days, one value per day, the average over 01:00-05:00 UTC (baseload).
 * - `callback=` (or `jsonp_callback=`) wraps the answer as JSONP.
 * - `param=all` answers the sensor's parameters instead:
 *   `{"sid","device","enabled","rid","config":{...}}`.
 * Authorised by the version and token checks of core/api (X-Version/version, X-Token/token).
 */

const DAY = 86400;
const INTERVALS: Record<string, number> = {
  minute: 60,
  '15min': 900,
  hour: 3600,
  day: DAY,
  week: 7 * DAY,
  month: 30 * DAY,
  year: 365 * DAY,
  decade: 3650 * DAY,
  night: 30 * DAY,
};
const RESOLUTIONS: Record<string, number> = { minute: 60, '15min': 900, hour: 3600, day: DAY, week: 7 * DAY };
const DEFAULT_RESOLUTION: Record<string, string> = {
  minute: 'minute',
  '15min': 'minute',
  hour: 'minute',
  day: '15min',
  week: 'day',
  month: 'day',
  year: 'week',
  decade: 'week',
  night: 'day',
};
/** Counter rate per second -> unit (fls `check:unit`). */
const FACTORS: Record<string, number> = {
  watt: 3600,
  kwhperyear: 31536,
  eurperyear: 5676,
  audperyear: 5991,
  lpermin: 60,
  lperday: 86400,
  m3peryear: 31536,
};
const MAX_BUCKETS = 100_000;
const KNOWN = new Set([
  'interval',
  'start',
  'end',
  'resolution',
  'unit',
  'callback',
  'jsonp_callback',
  'param',
  'version',
  'token',
]);

export interface RestContext {
  registry: Registry;
  store: ReadingStore;
  tokens: Tokens;
  now: () => number;
  /** seconds between two readings beyond which the time between them is a gap (default 3600) */
  maxGap?: number;
}

interface Query {
  start: number;
  resolution: number;
  buckets: number;
  factor: number;
  night: boolean;
  callback: string | undefined;
}

export async function restSensorReply(req: ApiRequest, sid: string, ctx: RestContext): Promise<ApiReply> {
  await ctx.registry.refresh();
  const refused = guard(req, sid, ctx.tokens);
  if (refused) return withApiHeaders(refused);
  const sensor = ctx.registry.sensor(sid)!;
  const q = req.url.searchParams;
  const callback = q.get('callback') ?? q.get('jsonp_callback') ?? undefined;
  if (callback !== undefined && !isCallbackName(callback))
    return withApiHeaders(textReply(400, 'Malformed query string: callback must be a JavaScript function name'));
  if (q.get('param') !== null) {
    if (q.get('param') !== 'all') return withApiHeaders(textReply(400, 'Malformed query string: param must be all'));
    const body = JSON.stringify({
      sid,
      device: sensor.did,
      enabled: sensor.enabled,
      rid: sensor.rid,
      config: sensor.config,
    });
    return withApiHeaders(jsonReply(body, callback, { 'Cache-Control': 'no-store' }));
  }
  const query = parseQuery(q, sensor, ctx.now(), callback);
  if (typeof query === 'string') return withApiHeaders(textReply(400, `Malformed query string: ${query}`));
  const body = JSON.stringify(await series(ctx, sensor, query));
  return withApiHeaders(jsonReply(body, callback, { 'Cache-Control': 'no-store' }));
}

function parseQuery(
  q: URLSearchParams,
  sensor: SensorRecord,
  now: number,
  callback: string | undefined,
): Query | string {
  for (const k of q.keys()) if (!KNOWN.has(k)) return `unknown parameter ${k}`;
  const interval = q.get('interval');
  const startText = q.get('start');
  const endText = q.get('end');
  if (interval !== null && startText !== null) return 'interval and start exclude each other';
  if (endText !== null && startText === null) return 'end needs start';
  if (interval === null && startText === null) return 'give interval or start';
  if (interval !== null && !(interval in INTERVALS))
    return `interval must be one of ${Object.keys(INTERVALS).join(', ')}`;
  const resText = q.get('resolution') ?? (interval !== null ? DEFAULT_RESOLUTION[interval]! : 'minute');
  const resolution = RESOLUTIONS[resText] ?? (/^\d{1,9}$/.test(resText) ? Number(resText) : NaN);
  if (!(resolution >= 1)) return `resolution must be seconds or one of ${Object.keys(RESOLUTIONS).join(', ')}`;
  const unit =
    q.get('unit') ?? (sensor.config['type'] === 'water' || sensor.config['type'] === 'gas' ? 'lperday' : 'watt');
  const factor = FACTORS[unit];
  if (factor === undefined) return `unit must be one of ${Object.keys(FACTORS).join(', ')}`;
  const night = interval === 'night';
  let start: number;
  let end: number;
  if (interval !== null) {
    const step = night ? DAY : resolution;
    end = Math.floor(now / step) * step;
    start = end - INTERVALS[interval]!;
  } else {
    const s = /^\d{1,12}$/.test(startText!) ? Number(startText) : NaN;
    const e = endText === null ? now : /^\d{1,12}$/.test(endText) ? Number(endText) : NaN;
    if (!Number.isFinite(s) || !Number.isFinite(e)) return 'start and end are Unix seconds';
    if (e <= s) return 'end must be after start';
    start = Math.floor(s / resolution) * resolution;
    end = Math.ceil(e / resolution) * resolution;
  }
  const step = night ? 3600 : resolution;
  const buckets = Math.ceil((end - start) / step);
  if (buckets > MAX_BUCKETS) return `${buckets} buckets; at most ${MAX_BUCKETS}, use a coarser resolution`;
  return { start, resolution: step, buckets, factor, night, callback };
}

async function series(ctx: RestContext, sensor: SensorRecord, q: Query): Promise<Array<[number, number | 'nan']>> {
  const maxGap = ctx.maxGap ?? 3600;
  const b = new Buckets(q.start, q.resolution, q.buckets, maxGap);
  const end = q.start + q.buckets * q.resolution;
  await ctx.store.forEachSample(sensor.sid, sensor.rid, q.start - maxGap, end + maxGap, (t, v) => b.add(t, v));
  const round = (v: number): number | 'nan' => (Number.isFinite(v) ? Math.round(v * q.factor * 1000) / 1000 : 'nan');
  const out: Array<[number, number | 'nan']> = [];
  if (q.night) {
    // Hourly buckets; each day's value is the mean rate over its hours 1 to 4 (01:00-05:00 UTC).
    for (let day = 0; day * 24 < q.buckets; day++) {
      const rates = [1, 2, 3, 4].map((h) => b.rate(day * 24 + h));
      out.push([q.start + (day + 1) * DAY, round(rates.reduce((a, r) => a + r, 0) / 4)]);
    }
    return out;
  }
  for (let k = 0; k < q.buckets; k++) out.push([q.start + (k + 1) * q.resolution, round(b.rate(k))]);
  return out;
}
