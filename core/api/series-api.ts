import { z } from 'zod';
import { describeZodError } from '../config/schema';
import type { SensorCfg, TmpoBlock } from '../tmpo/block';
import { blockToSeries } from '../tmpo/codec';
import { blockEnd, type BlockKey } from '../tmpo/ids';
import type { Tokens } from './auth';
import { BlockVanishedError, latestRid, readBlockAt, timeline, type TmpoReader } from './blocks';
import { Buckets } from './buckets';
import { isCallbackName, jsonReply, textReply, type ApiReply, type ApiRequest } from './reply';
import { parseTime } from './time';
import { guard, withApiHeaders } from './tmpo-api';

/**
 * Beyond the FLM: `GET /sensor/<sid>/series?start=&end=&resolution=&unit=&rid=` answers a
 * sensor's stored TMPO history in equal buckets, with the Flukso API's conventions (each point is
 * `[end of bucket, value]`, a missing value is "nan") inside a self-describing object:
 *
 *   {"sid":"…","rid":0,"start":1468006400,"end":1468010000,"resolution":60,"unit":"watt",
 *    "levels":[20],"blocks":1,"series":[[1468006460,360],[1468006520,"nan"],…]}
 *
 * - start: Unix seconds or ISO 8601 (required); end: the same, default now; buckets run
 *   [start + k·R, start + (k+1)·R) until they cover end; `end` in the answer is the last bucket's.
 * - resolution: seconds or minute, 15min, hour, day, week (default minute).
 * - unit: what each bucket shows (default from the block's cfg: watt for electricity, lperday
 *   for water and gas, mean for a gauge series):
 *   watt, kwhperyear, lpermin, lperday, m3peryear: average rate over the bucket, from the counter
 *   (the Flukso server's factors); delta: the counter's increase; counter: the counter at the
 *   bucket's end; mean: the mean of the samples in the bucket.
 * - rid: the recycle id, default the highest stored (as tmpo-py).
 * - levels/blocks: which TMPO levels were read and how many blocks: where a higher-level block
 *   covers a window its children are not read, and no block outside the range is decoded unless
 *   an edge needs its sample.
 * Authorised like the TMPO API (X-Version and X-Token or their query forms).
 */

export interface SeriesApiContext {
  reader: TmpoReader;
  tokens: Tokens;
  /** Unix seconds */
  now: () => number;
}

export const MAX_BUCKETS = 100_000;

/** Counter rate per second -> unit (fls `check:unit`). */
const RATE_FACTORS = { watt: 3600, kwhperyear: 31536, lpermin: 60, lperday: 86400, m3peryear: 31536 } as const;
const UNITS = [...(Object.keys(RATE_FACTORS) as Array<keyof typeof RATE_FACTORS>), 'delta', 'counter', 'mean'] as const;
export type SeriesUnit = (typeof UNITS)[number];

const RESOLUTIONS: Record<string, number> = { minute: 60, '15min': 900, hour: 3600, day: 86400, week: 604800 };

const time = z.string().transform((s, ctx) => {
  const t = parseTime(s);
  if (t === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be Unix seconds or an ISO 8601 date or date-time' });
    return z.NEVER;
  }
  return t;
});

const resolution = z.string().transform((s, ctx) => {
  const r = RESOLUTIONS[s] ?? (/^\d{1,9}$/.test(s) ? Number(s) : NaN);
  if (!(r >= 1)) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a number of seconds or one of ${Object.keys(RESOLUTIONS).join(', ')}`,
    });
    return z.NEVER;
  }
  return r;
});

const querySchema = z
  .object({
    start: time,
    end: time.optional(),
    resolution: resolution.optional(),
    unit: z.enum(UNITS).optional(),
    rid: z
      .string()
      .regex(/^\d{1,9}$/, 'must be a whole number')
      .transform(Number)
      .optional(),
    callback: z.string().refine(isCallbackName, 'must be a JavaScript function name').optional(),
    // checked by authorize()
    version: z.string().optional(),
    token: z.string().optional(),
  })
  .strict();

export interface SeriesQuery {
  start: number;
  end: number;
  resolution: number;
  buckets: number;
  unit: SeriesUnit | undefined;
  rid: number | undefined;
  callback: string | undefined;
}

/**
 * The validated query, or the text of the 400. `maxBuckets` is raised only by callers that answer
 * in a compact form (the dashboard's binary series), where a year of minutes stays small.
 */
export function parseSeriesQuery(q: URLSearchParams, now: number, maxBuckets = MAX_BUCKETS): SeriesQuery | string {
  const raw: Record<string, string> = {};
  for (const [k, v] of q) if (!(k in raw)) raw[k] = v;
  const r = querySchema.safeParse(raw);
  if (!r.success) return `Malformed query string: ${describeZodError(r.error)}`;
  const { start, resolution: res = 60 } = r.data;
  const end = r.data.end ?? Math.floor(now);
  if (end <= start) return `Malformed query string: end (${end}) must be after start (${start})`;
  const buckets = Math.ceil((end - start) / res);
  if (buckets > maxBuckets) {
    return `Malformed query string: ${buckets} buckets of ${res} s from start to end; at most ${maxBuckets}, use a coarser resolution`;
  }
  return {
    start,
    end: start + buckets * res,
    resolution: res,
    buckets,
    unit: r.data.unit,
    rid: r.data.rid,
    callback: r.data.callback,
  };
}

export async function seriesReply(req: ApiRequest, sid: string, ctx: SeriesApiContext): Promise<ApiReply> {
  const refused = guard(req, sid, ctx.tokens);
  if (refused) return withApiHeaders(refused);
  const query = parseSeriesQuery(req.url.searchParams, ctx.now());
  if (typeof query === 'string') return withApiHeaders(textReply(400, query));
  // A block can go between listing and reading when compaction moves it into its parent;
  // listing again then finds the parent.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const body = await seriesJson(ctx.reader, sid, query);
      return withApiHeaders(jsonReply(body, query.callback, { 'Cache-Control': 'no-store' }));
    } catch (err) {
      if (!(err instanceof BlockVanishedError)) throw err;
    }
  }
  return withApiHeaders(
    textReply(503, 'Service Unavailable: the TMPO store kept changing while it was read; try again', {
      'Retry-After': '1',
    }),
  );
}

/** A series as numbers: one value per bucket (NaN where there is none), with what was read. */
export interface SeriesValues {
  rid: number;
  unit: SeriesUnit;
  /** TMPO levels read, highest first */
  levels: number[];
  blocks: number;
  /** bucket k ends at start + (k + 1)·resolution; rounded to 3 decimals as the JSON answer is */
  values: Float64Array;
}

/** The buckets' values for one sensor and a validated query. */
export async function seriesValues(reader: TmpoReader, sid: string, query: SeriesQuery): Promise<SeriesValues> {
  const keys = await reader.list({ sid });
  const rid = query.rid ?? latestRid(keys) ?? 0;
  const line = timeline(keys.filter((k) => k.rid === rid));
  const buckets = new Buckets(query.start, query.resolution, query.buckets);
  const read = await feedRange(reader, line, buckets);
  const unit = query.unit ?? defaultUnit(read.cfg);
  const values = new Float64Array(query.buckets);
  for (let k = 0; k < query.buckets; k++) {
    const v = bucketValue(buckets, k, unit);
    values[k] = Number.isFinite(v) ? Math.round(v * 1000) / 1000 : NaN;
  }
  const levels = [...new Set(read.keys.map((k) => k.lvl))].sort((a, b) => b - a);
  return { rid, unit, levels, blocks: read.keys.length, values };
}

/** The answer's JSON text for one sensor and a validated query. */
export async function seriesJson(reader: TmpoReader, sid: string, query: SeriesQuery): Promise<string> {
  const { rid, unit, levels, blocks, values } = await seriesValues(reader, sid, query);
  const series = new Array<[number, number | 'nan']>(query.buckets);
  for (let k = 0; k < query.buckets; k++) {
    const v = values[k]!;
    series[k] = [query.start + (k + 1) * query.resolution, Number.isNaN(v) ? 'nan' : v];
  }
  return JSON.stringify({
    sid,
    rid,
    start: query.start,
    end: query.end,
    resolution: query.resolution,
    unit,
    levels,
    blocks,
    series,
  });
}

/**
 * Feed the buckets from the fewest blocks: those meeting [start, end], plus the block before
 * (only if the first one starts after `start`) and the block after (only if the samples stop
 * before `end`), whose samples the edge interpolation needs.
 */
async function feedRange(
  reader: TmpoReader,
  line: BlockKey[],
  buckets: Buckets,
): Promise<{ keys: BlockKey[]; cfg: SensorCfg | undefined }> {
  const end = buckets.start + buckets.buckets * buckets.resolution;
  const keys: BlockKey[] = [];
  let cfg: SensorCfg | undefined;
  const load = async (i: number): Promise<TmpoBlock> => {
    const block = await readBlockAt(reader, line[i]!);
    keys.push(line[i]!);
    cfg ??= block.h.cfg;
    return block;
  };
  const feed = (block: TmpoBlock): void => {
    const { times, values } = blockToSeries(block);
    for (let j = 0; j < times.length; j++) buckets.add(times[j]!, values[j]!);
  };

  let first = line.findIndex((k) => blockEnd(k.lvl, k.bid) > buckets.start);
  if (first === -1) first = line.length;
  let last = first - 1;
  while (last + 1 < line.length && line[last + 1]!.bid <= end) last++;

  if (first <= last) {
    const head = await load(first);
    if (head.h.head[0] > buckets.start && first > 0) feed(await load(first - 1));
    feed(head);
    for (let i = first + 1; i <= last && !buckets.complete; i++) feed(await load(i));
  } else if (first > 0) {
    feed(await load(first - 1));
  }
  if (!buckets.complete && last + 1 < line.length) feed(await load(last + 1));
  return { keys, cfg };
}

function defaultUnit(cfg: SensorCfg | undefined): SeriesUnit {
  if (cfg?.['data_type'] === 'gauge') return 'mean';
  return cfg?.['type'] === 'water' || cfg?.['type'] === 'gas' ? 'lperday' : 'watt';
}

function bucketValue(b: Buckets, k: number, unit: SeriesUnit): number {
  switch (unit) {
    case 'delta':
      return b.increase(k);
    case 'counter':
      return b.counterAt(k);
    case 'mean':
      return b.mean(k);
    default:
      return b.rate(k) * RATE_FACTORS[unit];
  }
}
