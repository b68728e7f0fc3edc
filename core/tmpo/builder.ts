import type { SensorCfg, TmpoBlock } from './block';
import { encodeBlock } from './codec';
import { OpenBlock } from './delta';
import { FlushClock } from './flush-clock';
import { blockId, blockEnd, isRid, isSid, span, type BlockKey } from './ids';

/** A level-8 block ready to be stored and published. */
export interface FinishedBlock {
  key: BlockKey;
  bytes: Buffer;
  samples: number;
}

/**
 * Why a sample was or was not taken:
 * - `out-of-order`: it cannot go between the sensor's stored samples, read block after block in
 *   key order: a duplicate or repeat of a stored reading, a reading inside a stored block's span,
 *   or one before a block's head in its own window (the FLM's rule);
 * - `expired`: it would be stored more than the horizon after its own time (too old to keep);
 * - `invalid`: time not whole non-negative seconds, or value not finite.
 */
export type PushOutcome = 'accepted' | 'out-of-order' | 'expired' | 'invalid';
export type BuilderCounters = Record<PushOutcome, number>;

/** A written level-8 block: its key and the times of its first and last sample. */
export interface Span {
  key: number;
  head: number;
  tail: number;
}

/** What is stored of a sensor and rid, read from the store at start. */
export interface Frontier {
  /** no level-8 block may start below this: its windows are joined into larger blocks */
  base: number;
  /** time of the last sample below `base` */
  baseTail: number;
  /** the level-8 blocks at or above `base`, ascending */
  blocks: Span[];
}

/** What the pool tells a builder about the host clock for one sample. */
export interface PushContext {
  /** host Unix seconds */
  now: number;
  /** no block may open below this (compaction may already have joined those windows) */
  floor: number;
  /** seconds a sample may be stored after its own window has gone (a later block) */
  horizon: number;
}

export interface BuilderOptions {
  /** what the store holds of this sensor and rid */
  frontier?: Frontier | undefined;
  /** most blocks open at once; with more, one is written (a source ahead of the host clock) */
  maxOpenBlocks?: number;
}

const SPAN8 = span(8);

/**
 * The open level-8 blocks of one sensor and rid (tmpod `push8`), kept so that the sensor's stored
 * series, read block after block in key order as tmpo-py does, is strictly increasing in time and
 * holds every accepted sample once:
 * - a sample goes to the block of its own window unless that window is already written for this
 *   sensor; then to the next window, as a block that starts before its own window. A key is never
 *   used twice, so a published block is never rewritten.
 * - a sensor whose readings arrive late (a meter stamping gas with its capture time) has its
 *   blocks written that much later, so its samples land in their own windows;
 * - a source ahead of the host clock never waits for the host: with every slot taken, the oldest
 *   open block is written at the next flush. Readings after its clock is set back go into the
 *   windows it left free.
 * The cfg is captured when a block opens.
 */
export class Block8Builder {
  private readonly open = new Map<number, OpenBlock>();
  /** open keys ascending (a handful) */
  private readonly keys: number[] = [];
  /** written blocks at or above `base`, ascending: where a reading may still go */
  private readonly stored: Span[];
  private base: number;
  private baseTail: number;
  /** host seconds the latest sample arrived after its own time: its blocks are held this long */
  private lag = 0;
  private readonly sealed: FinishedBlock[] = [];
  private readonly maxOpen: number;
  readonly counters: BuilderCounters = { accepted: 0, 'out-of-order': 0, expired: 0, invalid: 0 };

  constructor(
    readonly sid: string,
    readonly rid: number,
    private cfg: SensorCfg | (() => SensorCfg),
    options: BuilderOptions = {},
  ) {
    if (!isSid(sid)) throw new RangeError(`invalid sensor id ${JSON.stringify(sid)}`);
    if (!isRid(rid)) throw new RangeError(`invalid rid ${rid}`);
    this.base = options.frontier?.base ?? 0;
    this.baseTail = options.frontier?.baseTail ?? -1;
    this.stored = (options.frontier?.blocks ?? []).filter((b) => b.key >= this.base).map((b) => ({ ...b }));
    this.maxOpen = Math.max(1, options.maxOpenBlocks ?? 8);
  }

  /** Used for blocks opened from now on. */
  setCfg(cfg: SensorCfg): void {
    this.cfg = cfg;
  }

  get openBlocks(): number {
    return this.open.size;
  }

  /** The default context: no compaction floor, no horizon (a builder on its own). */
  push(ts: number, value: number, ctx: PushContext = { now: ts, floor: 0, horizon: Infinity }): PushOutcome {
    const outcome = this.place(ts, value, ctx);
    this.counters[outcome]++;
    if (outcome === 'accepted') this.lag = Math.min(Math.max(0, ctx.now - ts), ctx.horizon);
    return outcome;
  }

  private place(ts: number, value: number, ctx: PushContext): PushOutcome {
    if (!Number.isSafeInteger(ts) || ts < 0 || !Number.isFinite(value)) return 'invalid';
    const own = blockId(ts, 8);
    // The common case, a reading after the last one in the newest block: nothing can be after it.
    const newest = this.keys.length > 0 ? this.keys[this.keys.length - 1]! : undefined;
    if (newest === own && (this.stored.length === 0 || this.stored[this.stored.length - 1]!.key < own)) {
      const block = this.open.get(own)!;
      if (ts > block.tailTime) return block.append(ts, value) ? 'accepted' : 'out-of-order';
    }
    this.raiseBase(blockId(ctx.floor, 8));
    let key = Math.max(own, this.base);
    if (this.isStored(key)) key += SPAN8;
    if (this.isStored(key)) return 'out-of-order';
    if (key > own && key - ts > ctx.horizon) return 'expired';
    const { prevTail, nextHead } = this.neighbours(key);
    if (ts <= prevTail || ts >= nextHead) return 'out-of-order';
    const block = this.open.get(key);
    // Before the head only in a block that starts early; in its own window the FLM's rule holds.
    if (block) return block.append(ts, value) || (key > own && block.prepend(ts, value)) ? 'accepted' : 'out-of-order';
    // Slots run out when a source runs ahead of the host (or far behind it): the oldest block is
    // done, or, for a reading before all of them (its clock was set back), the one furthest ahead.
    while (this.open.size >= this.maxOpen) this.seal(key < this.keys[0]! ? this.keys.at(-1)! : this.keys[0]!);
    this.open.set(key, new OpenBlock(ts, value, typeof this.cfg === 'function' ? this.cfg() : this.cfg));
    this.keys.splice(lowerBound(this.keys, key), 0, key);
    return 'accepted';
  }

  /**
   * Take over a block that was open before a restart. If its key is no longer free (it was
   * written just before a crash) its samples are placed one by one: what is stored is dropped.
   */
  adopt(bid: number, block: TmpoBlock, ctx: PushContext, replay: (b: TmpoBlock) => Array<[number, number]>): void {
    this.raiseBase(blockId(ctx.floor, 8));
    const { prevTail, nextHead } = this.neighbours(bid);
    const fits =
      bid >= this.base &&
      !this.isStored(bid) &&
      !this.open.has(bid) &&
      this.open.size < this.maxOpen &&
      block.h.head[0] > prevTail &&
      block.h.tail[0] < nextHead;
    if (fits) {
      this.open.set(bid, OpenBlock.fromBlock(block));
      this.keys.splice(lowerBound(this.keys, bid), 0, bid);
      return;
    }
    // Not through push: these samples say nothing about how late the sensor is now. One already
    // stored is a repeat of a journal that outlived its block (a kill -9 before the next
    // checkpoint), not a reading refused.
    for (const [t, v] of replay(block)) {
      const outcome = this.place(t, v, { ...ctx, horizon: Infinity });
      if (outcome !== 'out-of-order') this.counters[outcome]++;
    }
  }

  /** Copies of the open blocks, oldest first, for keeping them across a restart. */
  openSnapshot(): Array<{ bid: number; block: TmpoBlock }> {
    return this.keys.map((bid) => ({ bid, block: this.open.get(bid)!.toBlock() }));
  }

  /**
   * Hand over the blocks that are done, oldest first: those sealed since the last call, and
   * those whose window plus this sensor's lag ends by `closedBefore` (all below it when `force`).
   */
  takeDue(closedBefore: number | undefined, force = false): FinishedBlock[] {
    if (!this.hasDue(closedBefore, force)) return [];
    if (closedBefore !== undefined) {
      const before = force ? closedBefore : closedBefore - this.lag;
      while (this.keys.length > 0 && (force ? this.keys[0]! < before : blockEnd(8, this.keys[0]!) <= before))
        this.seal(this.keys[0]!);
    }
    return this.sealed.splice(0);
  }

  /** Whether takeDue would hand anything over (asked every second, so it allocates nothing). */
  hasDue(closedBefore: number | undefined, force = false): boolean {
    if (this.sealed.length > 0) return true;
    if (closedBefore === undefined || this.keys.length === 0) return false;
    return force ? this.keys[0]! < closedBefore : blockEnd(8, this.keys[0]!) <= closedBefore - this.lag;
  }

  /** Encode and hand over every open block starting before `boundary`, oldest first. */
  takeBefore(boundary: number): FinishedBlock[] {
    return this.takeDue(boundary, true);
  }

  private seal(bid: number): void {
    const block = this.open.get(bid)!.toBlock();
    this.open.delete(bid);
    this.keys.splice(this.keys.indexOf(bid), 1);
    this.stored.splice(searchSpan(this.stored, bid), 0, { key: bid, head: block.h.head[0], tail: block.h.tail[0] });
    this.sealed.push({
      key: { sid: this.sid, rid: this.rid, lvl: 8, bid },
      bytes: encodeBlock(block),
      samples: block.t.length,
    });
  }

  /** Windows below `floor` are closed for good: forget their spans, keep their last time. */
  private raiseBase(floor: number): void {
    if (floor <= this.base) return;
    this.base = floor;
    let n = 0;
    while (n < this.stored.length && this.stored[n]!.key < floor)
      this.baseTail = Math.max(this.baseTail, this.stored[n++]!.tail);
    this.stored.splice(0, n);
  }

  private isStored(key: number): boolean {
    if (key < this.base) return true;
    const i = searchSpan(this.stored, key);
    return this.stored[i]?.key === key;
  }

  /** The last time before block `key` and the first after it, over written and open blocks. */
  private neighbours(key: number): { prevTail: number; nextHead: number } {
    const i = searchSpan(this.stored, key);
    const at = this.stored[i]?.key === key ? i + 1 : i;
    let prevTail = Math.max(this.baseTail, this.stored[i - 1]?.tail ?? -1);
    let nextHead = this.stored[at]?.head ?? Infinity;
    const j = lowerBound(this.keys, key);
    if (j > 0) prevTail = Math.max(prevTail, this.open.get(this.keys[j - 1]!)!.tailTime);
    const after = this.keys[j] === key ? j + 1 : j;
    if (after < this.keys.length) nextHead = Math.min(nextHead, this.open.get(this.keys[after]!)!.headTime);
    return { prevTail, nextHead };
  }
}

/** First index whose key is >= `key` (open keys: a handful). */
function lowerBound(keys: readonly number[], key: number): number {
  let i = 0;
  while (i < keys.length && keys[i]! < key) i++;
  return i;
}

/** First index whose span key is >= `key` (binary search: a source far ahead leaves many). */
function searchSpan(spans: readonly Span[], key: number): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (spans[mid]!.key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface PoolOptions {
  graceSeconds: number;
  /**
   * the sensor's purged uci params (docs/protocols/tmpo.md#block-format cfg), asked for when a
   * sensor's first block opens
   */
  cfgFor: (sid: string, rid: number) => SensorCfg;
  maxOpenBlocksPerSensor?: number;
  /** how late a reading may arrive and still be stored, seconds; compaction waits this long too */
  horizonSeconds?: number;
  /** what the store holds of each sensor, by `sid/rid` */
  frontiers?: ReadonlyMap<string, Frontier>;
}

/** The default horizon: a meter's hourly M-Bus profile, or hours of capture lag, still fit. */
export const DEFAULT_HORIZON_SECONDS = 6 * 3600;

/**
 * All level-8 builders behind one flush clock, as tmpod keeps them: the only TMPO data held in
 * memory. A sensor's builder stays (a few counters) after its blocks are flushed.
 */
export class Block8Pool {
  private readonly builders = new Map<string, Block8Builder>();
  readonly clock: FlushClock;
  readonly horizonSeconds: number;

  constructor(private readonly options: PoolOptions) {
    this.clock = new FlushClock(options.graceSeconds);
    this.horizonSeconds = options.horizonSeconds ?? DEFAULT_HORIZON_SECONDS;
  }

  /** `now` is the host clock; without it the sample counts as arriving on time. */
  push(sid: string, rid: number, ts: number, value: number, now = ts): PushOutcome {
    if (!isSid(sid) || !isRid(rid)) return 'invalid';
    return this.builder(sid, rid).push(ts, value, this.context(now));
  }

  /** Take over a block that was open before a restart, with the cfg it was opened with. */
  /** False, and nothing taken, for a sensor id or rid that cannot name a block. */
  adopt(
    sid: string,
    rid: number,
    bid: number,
    block: TmpoBlock,
    now: number,
    replay: (b: TmpoBlock) => Array<[number, number]>,
  ): boolean {
    if (!isSid(sid) || !isRid(rid)) return false;
    this.builder(sid, rid, block.h.cfg).adopt(bid, block, this.context(now), replay);
    return true;
  }

  /** Blocks that are done: sealed ones at once, the rest after their window, the grace and the sensor's lag. */
  flush(now: number, opts: { force?: boolean; sealedOnly?: boolean } = {}): FinishedBlock[] {
    if (opts.sealedOnly) return [...this.builders.values()].flatMap((b) => b.takeDue(undefined));
    const boundary = this.clock.tick(now, opts.force ?? false);
    const force = opts.force === true && boundary !== undefined;
    const closed = force ? boundary : this.clock.closedBefore;
    const out: FinishedBlock[] = [];
    for (const b of this.builders.values()) if (b.hasDue(closed, force)) out.push(...b.takeDue(closed, force));
    return out;
  }

  /** Every level-8 block below this has been flushed; undefined before the first flush. */
  get closedBefore(): number | undefined {
    return this.clock.closedBefore;
  }

  /**
   * The horizon for compaction: windows below it are final, so no block will open there again.
   * It trails the flush by the horizon plus a window, the most a late sensor's blocks are held.
   */
  get compactBefore(): number | undefined {
    const closed = this.clock.closedBefore;
    return closed === undefined ? undefined : Math.max(0, closed - this.horizonSeconds - SPAN8);
  }

  get openBlocks(): number {
    let n = 0;
    for (const b of this.builders.values()) n += b.openBlocks;
    return n;
  }

  /** Per sensor and rid, what happened to its samples. */
  stats(): Array<{ sid: string; rid: number; counters: Readonly<BuilderCounters>; openBlocks: number }> {
    return [...this.builders.values()].map((b) => ({
      sid: b.sid,
      rid: b.rid,
      counters: { ...b.counters },
      openBlocks: b.openBlocks,
    }));
  }

  /** Every open block with its sensor, rid and key (what a restart would otherwise lose). */
  openSnapshot(): Array<{ sid: string; rid: number; bid: number; block: TmpoBlock }> {
    return [...this.builders.values()].flatMap((b) => b.openSnapshot().map((o) => ({ sid: b.sid, rid: b.rid, ...o })));
  }

  /** New cfg for blocks opened from now on (after a config change). */
  updateCfg(sid: string, rid: number, cfg: SensorCfg): void {
    this.builders.get(`${sid}/${rid}`)?.setCfg(cfg);
  }

  /** One context object, reused: a push is the hot path. */
  private readonly ctx: PushContext = { now: 0, floor: 0, horizon: 0 };

  private context(now: number): PushContext {
    this.ctx.now = now;
    this.ctx.floor = this.compactBefore ?? 0;
    this.ctx.horizon = this.horizonSeconds;
    return this.ctx;
  }

  private builder(sid: string, rid: number, cfg?: SensorCfg): Block8Builder {
    const id = `${sid}/${rid}`;
    let b = this.builders.get(id);
    if (!b) {
      // A restored block of a sensor that is no longer enabled brings its own cfg, used for
      // whatever of it has to go into a new block.
      const cfgNow = (): SensorCfg => {
        try {
          return this.options.cfgFor(sid, rid);
        } catch (err) {
          if (cfg) return cfg;
          throw err;
        }
      };
      b = new Block8Builder(sid, rid, cfgNow, {
        frontier: this.options.frontiers?.get(id),
        ...(this.options.maxOpenBlocksPerSensor !== undefined
          ? { maxOpenBlocks: this.options.maxOpenBlocksPerSensor }
          : {}),
      });
      this.builders.set(id, b);
    }
    return b;
  }
}
