import type { SensorCfg, TmpoBlock } from './block';
import { encodeBlock } from './codec';
import { OpenBlock } from './delta';
import { FlushClock } from './flush-clock';
import { blockId, isRid, isSid, type BlockKey } from './ids';

/** A level-8 block ready to be stored and published. */
export interface FinishedBlock {
  key: BlockKey;
  bytes: Buffer;
  samples: number;
}

/**
 * Why a sample was or was not taken:
 * - `out-of-order`: its time is not after the last sample of its block (duplicates included);
 * - `late`: its block was already flushed (taking it would mean rewriting a written block);
 * - `overflow`: it would open more blocks than allowed (a clock far off, or a flood);
 * - `invalid`: time not whole non-negative seconds, or value not finite.
 */
export type PushOutcome = 'accepted' | 'out-of-order' | 'late' | 'overflow' | 'invalid';
export type BuilderCounters = Record<PushOutcome, number>;

export interface BuilderOptions {
  /** windows starting before this are already flushed (the pool's clock at creation) */
  closedBefore?: number | undefined;
  /** most blocks open at once; the FLM has two (the current window and, in the grace, the previous) */
  maxOpenBlocks?: number;
}

/**
 * The open level-8 blocks of one sensor and rid (tmpod `push8`). Samples only ever extend a block,
 * so a dropped sample never touches what is already in it. The cfg is captured when a block opens.
 */
export class Block8Builder {
  private readonly open = new Map<number, OpenBlock>();
  private closed: number | undefined;
  private readonly maxOpen: number;
  readonly counters: BuilderCounters = { accepted: 0, 'out-of-order': 0, late: 0, overflow: 0, invalid: 0 };

  constructor(
    readonly sid: string,
    readonly rid: number,
    private cfg: SensorCfg,
    options: BuilderOptions = {},
  ) {
    if (!isSid(sid)) throw new RangeError(`invalid sensor id ${JSON.stringify(sid)}`);
    if (!isRid(rid)) throw new RangeError(`invalid rid ${rid}`);
    this.closed = options.closedBefore;
    this.maxOpen = options.maxOpenBlocks ?? 8;
  }

  /** Used for blocks opened from now on. */
  setCfg(cfg: SensorCfg): void {
    this.cfg = cfg;
  }

  get openBlocks(): number {
    return this.open.size;
  }

  push(ts: number, value: number): PushOutcome {
    const outcome = this.place(ts, value);
    this.counters[outcome]++;
    return outcome;
  }

  private place(ts: number, value: number): PushOutcome {
    if (!Number.isSafeInteger(ts) || ts < 0 || !Number.isFinite(value)) return 'invalid';
    const bid = blockId(ts, 8);
    if (this.closed !== undefined && bid < this.closed) return 'late';
    const block = this.open.get(bid);
    if (block) return block.append(ts, value) ? 'accepted' : 'out-of-order';
    if (this.open.size >= this.maxOpen) return 'overflow';
    this.open.set(bid, new OpenBlock(ts, value, this.cfg));
    return 'accepted';
  }

  /** Copies of the open blocks, oldest first, for keeping them across a restart. */
  openSnapshot(): TmpoBlock[] {
    return [...this.open.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b.toBlock());
  }

  /** Encode and hand over every open block starting before `boundary`, oldest first. */
  takeBefore(boundary: number): FinishedBlock[] {
    const due = [...this.open.keys()].filter((bid) => bid < boundary).sort((a, b) => a - b);
    const out = due.map((bid) => {
      const block = this.open.get(bid)!.toBlock();
      this.open.delete(bid);
      return { key: { sid: this.sid, rid: this.rid, lvl: 8 as const, bid }, bytes: encodeBlock(block), samples: block.t.length };
    });
    this.closed = Math.max(this.closed ?? boundary, boundary);
    return out;
  }
}

export interface PoolOptions {
  graceSeconds: number;
  /** the sensor's purged uci params (§4.1 cfg), asked for when a sensor's first sample arrives */
  cfgFor: (sid: string, rid: number) => SensorCfg;
  maxOpenBlocksPerSensor?: number;
}

/**
 * All level-8 builders behind one flush clock, as tmpod keeps them: the only TMPO data held in
 * memory. A sensor's builder stays (a few counters) after its blocks are flushed.
 */
export class Block8Pool {
  private readonly builders = new Map<string, Block8Builder>();
  readonly clock: FlushClock;

  constructor(private readonly options: PoolOptions) {
    this.clock = new FlushClock(options.graceSeconds);
  }

  push(sid: string, rid: number, ts: number, value: number): PushOutcome {
    if (!isSid(sid) || !isRid(rid)) return 'invalid';
    return this.builder(sid, rid).push(ts, value);
  }

  /** Blocks whose window plus grace has passed (none most seconds). */
  flush(now: number, opts: { force?: boolean } = {}): FinishedBlock[] {
    const boundary = this.clock.tick(now, opts.force ?? false);
    if (boundary === undefined) return [];
    return [...this.builders.values()].flatMap((b) => b.takeBefore(boundary));
  }

  /** The horizon for compaction: every level-8 block before it is on disk. */
  get closedBefore(): number | undefined {
    return this.clock.closedBefore;
  }

  get openBlocks(): number {
    let n = 0;
    for (const b of this.builders.values()) n += b.openBlocks;
    return n;
  }

  /** Per sensor and rid, what happened to its samples. */
  stats(): Array<{ sid: string; rid: number; counters: Readonly<BuilderCounters>; openBlocks: number }> {
    return [...this.builders.values()].map((b) => ({ sid: b.sid, rid: b.rid, counters: { ...b.counters }, openBlocks: b.openBlocks }));
  }

  /** Every open block with its sensor and rid (what a restart would otherwise lose). */
  openSnapshot(): Array<{ sid: string; rid: number; block: TmpoBlock }> {
    return [...this.builders.values()].flatMap((b) => b.openSnapshot().map((block) => ({ sid: b.sid, rid: b.rid, block })));
  }

  /** New cfg for blocks opened from now on (after a config change). */
  updateCfg(sid: string, rid: number, cfg: SensorCfg): void {
    this.builders.get(`${sid}/${rid}`)?.setCfg(cfg);
  }

  private builder(sid: string, rid: number): Block8Builder {
    const id = `${sid}/${rid}`;
    let b = this.builders.get(id);
    if (!b) {
      b = new Block8Builder(sid, rid, this.options.cfgFor(sid, rid), {
        closedBefore: this.clock.closedBefore,
        ...(this.options.maxOpenBlocksPerSensor !== undefined ? { maxOpenBlocks: this.options.maxOpenBlocksPerSensor } : {}),
      });
      this.builders.set(id, b);
    }
    return b;
  }
}
