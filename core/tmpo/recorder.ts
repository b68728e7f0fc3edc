import type { SensorCfg } from './block';
import { Block8Pool, type PushOutcome } from './builder';
import { compact } from './compact';
import { pickGraceSeconds } from './flush-clock';
import type { BlockKey } from './ids';
import { clearOpenJournal, readOpenJournal, saveOpenJournal, setAsideOpenEntries } from './open-journal';
import { TmpoStore, type StoreWarning } from './store';
import { blockToSeries } from './codec';
import { readFrontiers } from './frontier';
import type { TmpoBlock } from './block';
import type { FinishedBlock, Frontier } from './builder';

export interface RecorderOptions {
  dataDir: string;
  deviceId: string;
  /** the sensor's cfg for new blocks (docs/protocols/tmpo.md#block-format) */
  cfgFor: (sid: string, rid: number) => SensorCfg;
  /** disk budget for blocks, bytes; undefined for none */
  maxBytes?: number;
  /** Unix seconds, for tests; defaults to the wall clock */
  now?: () => number;
  /** how late a reading may arrive and still be stored, seconds (default 6 h) */
  horizonSeconds?: number;
  /** every block written, level 8 and compacted, to publish */
  onBlock: (key: BlockKey, bytes: Buffer) => void;
  onWarning: (text: string) => void;
}

/**
 * tmpod in one object: readings go into level-8 blocks, finished blocks are written to the
 * store and handed to `onBlock`, compaction runs after each flush (one at a time), and open
 * blocks are kept in a journal when it stops so a restart goes on filling them.
 */
export class TmpoRecorder {
  private readonly pool: Block8Pool;
  private compacting?: Promise<void>;
  /** a flush happened while compacting: its blocks need a compaction pass of their own */
  private compactAgain = false;
  /** every level-8 block before this is on disk (the pool's horizon moves before the writes end) */
  private writtenBefore: number | undefined;
  private ticking: Promise<number> = Promise.resolve(0);
  private readonly abort = new AbortController();
  private closed = false;
  written = 0;

  private constructor(
    readonly store: TmpoStore,
    private readonly opts: RecorderOptions,
    frontiers: Map<string, Frontier>,
  ) {
    this.pool = new Block8Pool({
      graceSeconds: pickGraceSeconds(opts.deviceId, this.now),
      cfgFor: opts.cfgFor,
      frontiers,
      ...(opts.horizonSeconds !== undefined ? { horizonSeconds: opts.horizonSeconds } : {}),
    });
  }

  static async open(opts: RecorderOptions): Promise<TmpoRecorder> {
    const opened = await TmpoStore.open(opts.dataDir, opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {});
    for (const w of opened.warnings) opts.onWarning(describeWarning(w));
    const rec = new TmpoRecorder(opened.store, opts, await readFrontiers(opened.store, opened.level8));
    const journal = await readOpenJournal(opts.dataDir);
    if (journal.warning) opts.onWarning(journal.warning);
    // Every sensor's blocks come back, enabled or not: each carries the cfg it was opened with.
    const unplaced = journal.entries.filter((e) => !rec.pool.adopt(e.sid, e.rid, e.bid, e.block, rec.now, samplesOf));
    if (unplaced.length > 0) {
      const aside = await setAsideOpenEntries(opts.dataDir, unplaced);
      opts.onWarning(
        `${unplaced.length} open TMPO blocks in the journal name no valid sensor (${unplaced.map((e) => JSON.stringify(e.sid)).join(', ')}); kept in ${aside}`,
      );
    }
    return rec;
  }

  private get now(): number {
    return (this.opts.now ?? (() => Math.floor(Date.now() / 1000)))();
  }

  push(sid: string, rid: number, ts: number, value: number): PushOutcome {
    return this.pool.push(sid, rid, ts, value, this.now);
  }

  /** How late a reading may arrive and still be stored, seconds. */
  get horizonSeconds(): number {
    return this.pool.horizonSeconds;
  }

  get openBlocks(): number {
    return this.pool.openBlocks;
  }

  stats() {
    return this.pool.stats();
  }

  /**
   * Call every second: writes the blocks that are due, then compacts in the background. Ticks
   * never overlap: one asked for while another is writing waits for it.
   */
  tick(opts: { force?: boolean } = {}): Promise<number> {
    const run = this.ticking.then(() => this.flushDue(opts));
    this.ticking = run.catch(() => 0);
    return run;
  }

  private async flushDue(opts: { force?: boolean }): Promise<number> {
    if (this.closed) return 0;
    const due = this.pool.flush(this.now, opts);
    const horizon = this.pool.compactBefore;
    await this.write(due);
    if (horizon !== undefined && horizon !== this.writtenBefore) {
      this.writtenBefore = horizon;
      this.compactSoon();
    }
    return due.length;
  }

  private async write(blocks: FinishedBlock[]): Promise<void> {
    for (const b of blocks) {
      const r = await this.store.put(b.key, b.bytes);
      if (r.status === 'exists') {
        this.opts.onWarning(
          `TMPO block ${b.key.sid}/${b.key.rid}/8/${b.key.bid} already on disk; ${b.samples} newer samples for it were not stored`,
        );
        continue;
      }
      this.written++;
      this.opts.onBlock(b.key, b.bytes);
    }
  }

  private compactSoon(): void {
    const horizon = this.writtenBefore;
    if (horizon === undefined || this.closed) return;
    if (this.compacting) {
      this.compactAgain = true;
      return;
    }
    this.compacting = (async () => {
      const report = await compact(this.store, horizon, { signal: this.abort.signal });
      for (const e of report.events) {
        if (e.kind === 'compacted') {
          const bytes = await this.store.read(e.parent);
          if (bytes) this.opts.onBlock(e.parent, bytes);
        } else if (e.kind !== 'parent-exists' || !e.childrenRemoved) {
          this.opts.onWarning(`TMPO compaction: ${e.kind} ${'reason' in e ? e.reason : ''}`.trim());
        }
      }
    })()
      .catch((err: unknown) => this.opts.onWarning(`TMPO compaction failed: ${(err as Error).message}`))
      .finally(() => {
        this.compacting = undefined;
        if (this.compactAgain) {
          this.compactAgain = false;
          this.compactSoon();
        }
      });
  }

  /** Resolves when no compaction is running (tests, and an orderly stop). */
  async idle(): Promise<void> {
    while (this.compacting) await this.compacting;
  }

  /** Stop: let a running compaction end, keep the open blocks in the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    await this.ticking;
    await this.idle();
    // blocks a source ahead filled since the last tick are done: written, not journalled
    await this.write(this.pool.flush(this.now, { sealedOnly: true }));
    const open = this.pool.openSnapshot();
    if (open.length) await saveOpenJournal(this.opts.dataDir, open);
    else await clearOpenJournal(this.opts.dataDir);
  }

  /** Save the open blocks now (bounds what a kill -9 can lose). */
  async checkpoint(): Promise<void> {
    if (this.closed) return;
    await saveOpenJournal(this.opts.dataDir, this.pool.openSnapshot());
  }
}

function samplesOf(block: TmpoBlock): Array<[number, number]> {
  const { times, values } = blockToSeries(block);
  return times.map((t, i) => [t, values[i]!]);
}

function describeWarning(w: StoreWarning): string {
  return `TMPO store: ${w.kind} ${w.path}: ${w.reason}${w.movedTo ? ` (now in ${w.movedTo})` : ''}`;
}
