import { createApiServer, type ApiServerOptions } from '../../../core/api/server';
import { prng } from '../../../core/util/prng';
import type { Series } from '../../../core/tmpo/block';
import { Block8Builder } from '../../../core/tmpo/builder';
import { compact } from '../../../core/tmpo/compact';
import { encodeSeries } from '../../../core/tmpo/codec';
import { blockId, type BlockKey, type Level } from '../../../core/tmpo/ids';
import type { TmpoStore } from '../../../core/tmpo/store';

export const SID_A = 'c1411c6b4f9910bbbab09f145f8533b9';
export const SID_B = 'fed676021dacaaf6a12a8dda7685be34';
export const TOKEN_A = 'a8e0f9b5d6c74a3e8d2b1f0c9e7a6b5d';
export const TOKEN_B = '0123456789abcdef0123456789abcdef';
export const TOKEN_NOBODY = 'ffffffffffffffffffffffffffffffff';

/** A multiple of 2^20 (and of 10): 2016-07-08T19:33:20Z. */
export const T20 = 2 ** 20 * 1400;

export const CFG = {
  id: SID_A,
  type: 'electricity',
  class: 'analog',
  port: [1],
  function: 'main',
  rid: 0,
  data_type: 'counter',
};

export { withTempDir } from '../../support/temp-dir';

/** An API server on 127.0.0.1 and a free port for the length of `fn`. */
export async function withServer<T>(opts: ApiServerOptions, fn: (base: string) => Promise<T>): Promise<T> {
  const server = createApiServer({ ...opts, host: '127.0.0.1', port: 0 });
  const { port } = await server.listen();
  try {
    return await fn(`http://127.0.0.1:${port}`);
  } finally {
    await server.close(2000);
  }
}

/**
 * An integer Wh counter sampled every 1..maxGap s over [start, end); where `dense` is given, only
 * the times it picks get that, elsewhere gaps run up to 16000 s (a history that spans level-20
 * windows in a few hundred blocks: every stored block costs an fsync, so tests stay quick).
 */
export function counterSeries(
  seed: number,
  start: number,
  end: number,
  maxGap = 60,
  dense?: (t: number) => boolean,
): Series {
  const rnd = prng(seed);
  const times: number[] = [];
  const values: number[] = [];
  let v = 3_054_225;
  for (let t = start; t < end; t += 1 + Math.floor(rnd() * (!dense || dense(t) ? maxGap : 16000))) {
    times.push(t);
    values.push(v);
    v += Math.floor(rnd() * 40);
  }
  return { times, values };
}

/** The part of a series with times in [from, to). */
export function slice(s: Series, from: number, to: number): Series {
  const keep = s.times.map((t) => t >= from && t < to);
  return { times: s.times.filter((_, i) => keep[i]), values: s.values.filter((_, i) => keep[i]) };
}

/**
 * What flm-tmpo does with readings, without the timers: push the samples to the level-8 builder,
 * storing each block as its window closes (the builder holds only a few open), then everything
 * before `closeAt`'s window, then compact with that horizon.
 */
export async function record(
  store: TmpoStore,
  builder: Block8Builder,
  samples: Series,
  closeAt: number,
): Promise<void> {
  const horizon = blockId(closeAt, 8);
  const flush = async (before: number): Promise<void> => {
    for (const b of builder.takeBefore(before)) await store.put(b.key, b.bytes);
  };
  for (let i = 0; i < samples.times.length; i++) {
    const t = samples.times[i]!;
    if (builder.openBlocks > 0 && blockId(t, 8) <= horizon) await flush(blockId(t, 8));
    const outcome = builder.push(t, samples.values[i]!);
    if (outcome !== 'accepted') throw new Error(`sample ${t} not accepted: ${outcome}`);
  }
  await flush(horizon);
  await compact(store, horizon);
}

export const newBuilder = (sid = SID_A, rid = 0): Block8Builder =>
  new Block8Builder(sid, rid, { ...CFG, id: sid, rid });

/** Store one block of the given samples directly (for hand-made, even odd, store states). */
export async function putSeries(
  store: TmpoStore,
  key: BlockKey,
  s: Series,
  cfg: Record<string, unknown> = CFG,
): Promise<void> {
  await store.put(key, encodeSeries(s, cfg));
}

export const key = (lvl: Level, bid: number, sid = SID_A, rid = 0): BlockKey => ({ sid, rid, lvl, bid });

export const levelsOf = (keys: Array<{ lvl: number }>): number[] =>
  [...new Set(keys.map((k) => k.lvl))].sort((a, b) => b - a);
