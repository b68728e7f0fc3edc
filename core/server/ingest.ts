import type { IncomingHttpHeaders } from 'node:http';
import { digestMatches, xDigest } from '../upload/digest';
import { headerValue, type ApiReply } from '../api/reply';
import { CLOCK_VALID_AFTER } from '../config/clock-valid';
import type { Registry } from './registry';
import type { ReadingStore } from './store/types';

/**
 * The two POSTs an FLM makes (docs/protocols/server.md#ingestion):
 *
 * - `POST /sensor/<sid>` `{"measurements":[[ts,counter],...]}` signed with X-Digest (lowercase
 *   hex HMAC-SHA1 of the body under the ASCII text of the device's 32-hex key) and X-Version 1.0;
 *   answered `{"response":"ok"}` 200 once the readings are durable. Only whole counters are
 *   stored, as the Flukso server's RRD did; a body with both `measurements` and `config` is
 *   refused, as there.
 * - `POST /device/<did>` (heartbeat): the same checks; the reset flag is counted and the answer is
 *   `{"upgrade":0,"timestamp":T}` with an X-Digest of the answer, which the FLM checks. This server
 *   never offers an upgrade.
 *
 * Refusals, each counted by reason: 400 malformed (no or wrong X-Version, X-Digest not 40 hex,
 * not JSON, wrong shape), 404 unknown sensor or device, 403 a disabled sensor, 401 a digest that
 * does not match the device key (with `WWW-Authenticate: X-Digest`, which the FLM logs), 503 when
 * the store cannot take data. The FLM keeps a sensor's readings for the next try on anything but
 * 200, so no refusal loses data that could still be stored.
 */

export type RejectReason =
  | 'version'
  | 'digest-format'
  | 'unknown-sensor'
  | 'unknown-device'
  | 'disabled'
  | 'bad-digest'
  | 'not-json'
  | 'bad-body'
  | 'store'
  | 'too-large'
  | 'method'
  | 'not-found';

export class IngestCounters {
  readonly rejects: Partial<Record<RejectReason, number>> = {};
  posts = 0;
  readings = 0;
  fractional = 0;
  heartbeats = 0;
  reject(reason: RejectReason): void {
    this.rejects[reason] = (this.rejects[reason] ?? 0) + 1;
  }
}

export interface IngestContext {
  registry: Registry;
  store: ReadingStore;
  counters: IngestCounters;
  /** Unix seconds */
  now: () => number;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiReply => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

function refuse(ctx: IngestContext, reason: RejectReason, status: number, error: string): ApiReply {
  ctx.counters.reject(reason);
  return json(status, { error }, status === 401 ? { 'WWW-Authenticate': 'X-Digest' } : {});
}

/** Version and digest shape; undefined when both are fine. */
function checkHeaders(ctx: IngestContext, headers: IncomingHttpHeaders): ApiReply | undefined {
  if (headerValue(headers, 'X-Version') !== '1.0') return refuse(ctx, 'version', 400, 'X-Version must be 1.0');
  const digest = headerValue(headers, 'X-Digest');
  if (digest === undefined || !/^[0-9a-f]{40}$/.test(digest))
    return refuse(ctx, 'digest-format', 400, 'X-Digest must be 40 lowercase hex digits');
  return undefined;
}

export async function sensorPost(
  ctx: IngestContext,
  sid: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<ApiReply> {
  const bad = checkHeaders(ctx, headers);
  if (bad) return bad;
  await ctx.registry.refresh();
  const sensor = ctx.registry.sensor(sid);
  const device = sensor && ctx.registry.device(sensor.did);
  if (!sensor || !device) return refuse(ctx, 'unknown-sensor', 404, `unknown sensor ${sid}`);
  if (!digestMatches(device.key, body, headerValue(headers, 'X-Digest')))
    return refuse(ctx, 'bad-digest', 401, 'X-Digest does not match the device key');
  if (!sensor.enabled) return refuse(ctx, 'disabled', 403, `sensor ${sid} is disabled`);
  let o: unknown;
  try {
    o = JSON.parse(body.toString('utf8'));
  } catch {
    return refuse(ctx, 'not-json', 400, 'the body is not JSON');
  }
  const m = measurements(o);
  if (typeof m === 'string') return refuse(ctx, 'bad-body', 400, m);
  const times: number[] = [];
  const values: number[] = [];
  for (const [ts, counter] of m) {
    if (!Number.isInteger(counter)) {
      ctx.counters.fractional++;
      continue;
    }
    times.push(ts);
    values.push(counter);
  }
  try {
    if (times.length > 0) await ctx.store.addReadings(sid, sensor.rid, { times, values });
  } catch {
    return refuse(ctx, 'store', 503, 'the store cannot take data now; try again');
  }
  ctx.counters.posts++;
  ctx.counters.readings += times.length;
  return json(200, { response: 'ok' });
}

/** The measurements, or why the body is refused. */
function measurements(o: unknown): Array<[number, number]> | string {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'the body is not a JSON object';
  const b = o as { measurements?: unknown; config?: unknown };
  if (b.measurements !== undefined && b.config !== undefined) return 'measurements and config in one body';
  if (b.config !== undefined)
    return 'config uploads over HTTP are gone since 2015; the bridge carries the sensor table';
  if (!Array.isArray(b.measurements)) return 'no measurements';
  for (const p of b.measurements) {
    if (
      !Array.isArray(p) ||
      p.length !== 2 ||
      !Number.isSafeInteger(p[0]) ||
      typeof p[1] !== 'number' ||
      !Number.isFinite(p[1])
    )
      return 'a measurement is not [ts,counter]';
    if (p[0] <= CLOCK_VALID_AFTER) return `timestamp ${p[0]} is before the FLM's valid-clock threshold`;
  }
  return b.measurements as Array<[number, number]>;
}

export async function devicePost(
  ctx: IngestContext,
  did: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<ApiReply> {
  const bad = checkHeaders(ctx, headers);
  if (bad) return bad;
  await ctx.registry.refresh();
  const device = ctx.registry.device(did);
  if (!device) return refuse(ctx, 'unknown-device', 404, `unknown device ${did}`);
  if (!digestMatches(device.key, body, headerValue(headers, 'X-Digest')))
    return refuse(ctx, 'bad-digest', 401, 'X-Digest does not match the device key');
  let o: unknown;
  try {
    o = JSON.parse(body.toString('utf8'));
  } catch {
    return refuse(ctx, 'not-json', 400, 'the body is not JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    return refuse(ctx, 'bad-body', 400, 'the body is not a JSON object');
  const reset = (o as { reset?: unknown }).reset;
  const now = ctx.now();
  try {
    await ctx.store.addHeartbeat(did, reset === 1 || reset === '1' || reset === true, now);
  } catch {
    return refuse(ctx, 'store', 503, 'the store cannot take data now; try again');
  }
  ctx.counters.heartbeats++;
  const reply = JSON.stringify({ upgrade: 0, timestamp: now });
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'X-Digest': xDigest(device.key, reply) },
    body: reply,
  };
}
