import type { Sample } from '../tmpo/block';
import type { GaugeSource } from './recent-gauges';
import { isCallbackName, jsonReply, textReply, type ApiReply, type ApiRequest } from './reply';

/**
 * The FLM's local REST API (docs/protocols/tmpo.md#local-api, `restful.lua` + `data.lua`):
 * `GET /sensor/<sid>?version=1.0&interval=minute&unit=watt|lperday[&callback=fn|&jsonp_callback=fn]`
 * answers the sensor's gauges of the last minute, one point a second, as `[[ts,value],...]`.
 */

/** restful.lua's answer to anything but the three required parameters; byte for byte. */
export const MALFORMED_QUERY = 'Malformed query string: interval, unit and version query parameters are required.';
/** Our own addition: callback names are checked (see isCallbackName). */
const MALFORMED_CALLBACK = 'Malformed query string: callback must be a JavaScript function name.';

/** The minute the API covers: entries now-59 ... now, as the manual's example (60 points). */
export const LOCAL_WINDOW_SECONDS = 60;

const UNITS = new Set(['watt', 'lperday']);

export type LocalPoint = [ts: number, value: number | 'nan'];

/**
 * data.lua `polish` at `now`: each second from the first known gauge (at most a minute back) up to
 * now; a second without a gauge takes the next later gauge's value (back-fill), seconds after the
 * last gauge are "nan". Gauges later than now are not shown yet. `gauges` ascending by time.
 */
export function polishGauges(gauges: readonly Sample[], now: number, window = LOCAL_WINDOW_SECONDS): LocalPoint[] {
  const end = Math.floor(now);
  let last = gauges.length;
  while (last > 0 && gauges[last - 1]![0] > end) last--;
  if (last === 0) return [];
  const start = Math.max(gauges[0]![0], end - window + 1);
  const out: LocalPoint[] = [];
  let next = 0;
  for (let ts = start; ts <= end; ts++) {
    while (next < last && gauges[next]![0] < ts) next++;
    out.push([ts, next < last ? gauges[next]![1] : 'nan']);
  }
  return out;
}

/**
 * The answer to `/sensor/<sid>` without any parameter, what a person tries first: the FLM's
 * "malformed query string" would send them looking for a mistake they did not make, so this
 * says which parameters the API wants, with a request to copy. Still a 400: no data was asked for.
 */
function firstVisitHelp(req: ApiRequest, sid: string): string {
  const hostHeader = req.headers.host;
  const host = typeof hostHeader === 'string' && /^[\w.:[\]-]{1,100}$/.test(hostHeader) ? hostHeader : '127.0.0.1:8080';
  const path = req.url.pathname;
  return [
    `${path} answers the last minute of sensor ${sid}'s gauges, one [ts,value] a second, when asked with`,
    'three query parameters: version=1.0, interval=minute and unit=watt (electricity) or unit=lperday',
    '(water, gas). For example:',
    '',
    `  curl 'http://${host}${path}?version=1.0&interval=minute&unit=watt'`,
    '',
    `Its history: ${path}/series?version=1.0&token=<API token>&start=2026-12-01&resolution=hour`,
    `(and ${path}/tmpo/sync for tmpo-py). The package's README lists every URL it serves.`,
    '',
  ].join('\n');
}

/**
 * One request to `/sensor/<sid>`. An unserved sensor is 404 before the query is looked at, as on
 * the FLM, where uhttpd finds no CGI link for it; `unit` is only checked, never converted.
 */
export function localSensorReply(req: ApiRequest, sid: string, gauges: GaugeSource, now: number): ApiReply {
  const series = gauges.series(sid);
  if (series === undefined) return textReply(404, `Not Found: no sensor ${sid} here`);
  const q = req.url.searchParams;
  if ([...q.keys()].length === 0) return textReply(400, firstVisitHelp(req, sid));
  if (q.get('version') !== '1.0' || q.get('interval') !== 'minute' || !UNITS.has(q.get('unit') ?? '')) {
    return textReply(400, MALFORMED_QUERY);
  }
  const callback = q.get('callback') ?? q.get('jsonp_callback') ?? undefined;
  if (callback !== undefined && !isCallbackName(callback)) return textReply(400, MALFORMED_CALLBACK);
  const body = JSON.stringify(polishGauges(series, now));
  return jsonReply(body, callback, { 'Cache-Control': 'no-store', 'Access-Control-Allow-Origin': '*' });
}
