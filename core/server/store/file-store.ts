import { promises as fs } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { gzipSync, constants as zc } from 'node:zlib';
import { readStateFile, writeStateFile } from '../../util/state-file';
import type { Series, TmpoBlock } from '../../tmpo/block';
import { blockJson, blockToSeries, decodeBlock, seriesToBlock } from '../../tmpo/codec';
import { MAX_LEAD_SECONDS } from '../../tmpo/verify';
import {
  LEVELS,
  blockEnd,
  blockId,
  blockPath,
  compareKeys,
  isLevel,
  isSid,
  parentId,
  parentLevel,
  parentWindowPast,
  sensorDir,
  type BlockKey,
  type Level,
} from '../../tmpo/ids';
import { timeline } from '../../api/blocks';
import type { BridgeSyncEntry } from '../bridge/backend';
import { PendingWindows, mergeInto, sortUnique, type PendingWindow } from './samples';
import type { CfgSource, DeviceState, ReadingStore, StoreStats } from './types';
import { WriteAheadLog } from './wal';

export interface FileStoreOptions {
  /** the store's folder, `<data>/server` */
  dir: string;
  /** what goes into `h.cfg` of a block the store writes anew */
  cfg?: CfgSource;
  /** Unix seconds; tests pin it */
  now?: () => number;
  /** a checkpoint at least this often while readings wait (default 5 s) */
  checkpointMs?: number;
  /** a checkpoint as soon as this many readings wait (default 200 000) */
  maxPendingSamples?: number;
  /** compaction of the sensors written since, at most this often (default 60 s) */
  compactMs?: number;
  /**
   * seconds after its end that a window is sealed by the clock (default 360: the FLM POSTs every
   * 5 minutes), a window after the sensor's newest reading only once the sensor sent nothing for
   * that long; a window is sealed sooner when a later reading of the sensor or the device's own
   * block of it arrives
   */
  sealAfter?: number;
  /** gzip level of the blocks the store writes (default 6; the FLM's 9 costs ~3x the CPU) */
  gzipLevel?: number;
  /** an error of the background checkpoint or compaction (the store keeps running) */
  onError?: (err: Error) => void;
}

const STATE_VERSION = 1;
const FLUSH_CONCURRENCY = 16;
/** sensors whose stored bids the writer keeps in memory (a few hundred bytes each) */
const LEVEL_CACHE_SENSORS = 50_000;
const STATE_FILE = 'store-state.json';

type WalRecord =
  | { k: 'r'; s: string; r: number; t: number[]; v: number[]; l?: number; b?: number }
  | { k: 'h'; d: string; x: 0 | 1; a: number };

interface StateBody {
  /** the log records from this segment on are not in `lastBlocks` and `devices` */
  walSeq: number;
  /** the oldest segment holding a reading not yet in a block (readings of open windows); <= walSeq */
  keepSeq?: number;
  lastBlocks: Record<string, [rid: number, lvl: number, bid: number]>;
  devices: Record<string, [heartbeats: number, resets: number, last: number]>;
}

/**
 * The server's readings on local disk (docs/protocols/server.md#store):
 *
 * - An accepted request is first a record of the write-ahead log (group commit, fdatasync), and
 *   only then acknowledged; its readings wait in memory, by level-8 window.
 * - A block is written once and never again (docs/protocols/server.md#store): tmpo-py syncs by
 *   asking for the blocks after the last one it has, so a block changed after it fetched it would
 *   never reach it again. A window is written when it is sealed: a later reading of the sensor
 *   came (one source sends in time order), the device's own block of it came over the bridge, or
 *   the window ended `sealAfter` seconds ago (for a window after the newest reading's: and
 *   nothing came for that long). Until then its readings wait (the log keeps them).
 * - A checkpoint (every few seconds, or sooner when many readings wait) writes the sealed windows
 *   in the FLM's layout `<dir>/tmpo/sensor/<sid>/<rid>/<lvl>/<bid>`. A reading whose own window
 *   is written already goes into the window after the sensor's last block, a block that starts
 *   early, as the FLM's own store does (core/tmpo/builder.ts), unless it is stored already
 *   (dropped as a duplicate) or more than 2^20 s before that window (dropped, `expired`). Each
 *   (sid, rid, ts) is stored once. Files appear by rename, are made durable by one syncfs, and
 *   only then does the log drop the records they hold. A kill at any moment replays the log
 *   into the same result.
 * - Compaction joins the level-8 blocks of a past 4096 s window into a level-12 block and so on
 *   to level 20, like tmpod, once the sensor's data has passed the window (a later block, or a
 *   later reading): the last blocks of a sensor gone quiet stay as they are.
 * - Memory holds the waiting readings (bounded by `maxPendingSamples`, writers wait beyond four
 *   times that, besides the open windows), the last block per sensor and the heartbeat counters;
 *   nothing grows with history.
 */
export class FileReadingStore implements ReadingStore {
  private pending = new PendingWindows();
  private flushing: PendingWindows | undefined;
  private readonly lastBlocks = new Map<string, BridgeSyncEntry>();
  private readonly devices = new Map<string, DeviceState>();
  /** sid/rid keys written below level 20 since the last compaction; undefined: all */
  private toCompact: Set<string> | undefined = undefined;
  private lastCompaction = 0;
  private worker: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private writeFailed = false;
  /** a heartbeat or a block's name arrived since the last checkpoint */
  private stateChanged = false;
  private writes = 0;
  private readonly levelCache = new Map<string, Map<Level, Set<number>>>();
  /** `sid/rid` -> the windows before this are complete (a later reading came, or the device's block) */
  private readonly marks = new Map<string, number>();
  /** `sid/rid` -> when readings of it came last (the store's clock) */
  private readonly arrivals = new Map<string, number>();
  /** readings of open windows carried over into `pending` by the last checkpoint */
  private carried = 0;
  private readonly counters = {
    received: 0,
    stored: 0,
    duplicates: 0,
    expired: 0,
    checkpoints: 0,
    compactions: 0,
  };
  private readonly now: () => number;

  private constructor(
    private readonly opts: FileStoreOptions,
    private readonly wal: WriteAheadLog,
  ) {
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  }

  static async open(opts: FileStoreOptions): Promise<FileReadingStore> {
    await fs.mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const state = await readStateFile(join(opts.dir, STATE_FILE), parseState);
    const body: StateBody = state.kind === 'read' ? state.value : { walSeq: 0, lastBlocks: {}, devices: {} };
    const { wal, records } = await WriteAheadLog.open(join(opts.dir, 'wal'), body.keepSeq ?? body.walSeq);
    const store = new FileReadingStore(opts, wal);
    for (const [sid, [rid, lvl, bid]] of Object.entries(body.lastBlocks))
      store.lastBlocks.set(sid, { sid, rid, lvl, bid });
    for (const [did, [heartbeats, resets, last]] of Object.entries(body.devices))
      store.devices.set(did, { heartbeats, resets, lastHeartbeat: last });
    for (const rec of records)
      store.apply(JSON.parse(rec.data.toString('utf8')) as WalRecord, false, rec.seq, rec.seq >= body.walSeq);
    // What the log held goes into blocks at once, so a crash loop never grows the log.
    await store.runWorker(true);
    store.timer = setInterval(() => void store.kick(), opts.checkpointMs ?? 5000);
    store.timer.unref();
    return store;
  }

  private get maxPending(): number {
    return this.opts.maxPendingSamples ?? 200_000;
  }

  async addReadings(sid: string, rid: number, series: Series, block?: { lvl: number; bid: number }): Promise<void> {
    if (!isSid(sid)) throw new RangeError(`invalid sensor id ${JSON.stringify(sid)}`);
    if (!Number.isSafeInteger(rid) || rid < 0) throw new RangeError(`invalid rid ${rid}`);
    for (let i = 0; i < series.times.length; i++) {
      const t = series.times[i]!;
      if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`invalid time ${t}`);
      if (!Number.isFinite(series.values[i])) throw new RangeError(`invalid value at ${t}`);
    }
    const rec: WalRecord = { k: 'r', s: sid, r: rid, t: series.times, v: series.values };
    if (block) Object.assign(rec, { l: block.lvl, b: block.bid });
    await this.write(rec);
  }

  async addHeartbeat(did: string, reset: boolean, at: number): Promise<void> {
    await this.write({ k: 'h', d: did, x: reset ? 1 : 0, a: at });
  }

  private async write(rec: WalRecord): Promise<void> {
    if (this.closed) throw new Error('the store is closed');
    // Beyond four times the checkpoint threshold writers wait for the checkpoint: memory stays flat
    // when the disk cannot keep up.
    while (this.pending.samples - this.carried > 4 * this.maxPending && this.worker) await this.worker;
    // Applied before the log write resolves, in the same tick as the log takes it, so a checkpoint
    // that switches log segments sees exactly the records of the segments it may drop.
    const done = this.wal.append(Buffer.from(JSON.stringify(rec)));
    this.apply(rec, true, this.wal.current, true);
    try {
      await done;
      this.writeFailed = false;
    } catch (err) {
      // Not healthy until a write succeeds again (a full disk, say): /health answers 503.
      this.writeFailed = true;
      throw err;
    }
    if (this.pending.samples - this.carried >= this.maxPending) void this.kick();
  }

  /**
   * `seq`: the log segment the record is in. `counted`: false for a record replayed from a
   * segment the state file's counters already hold (kept only for its readings).
   */
  private apply(rec: WalRecord, live: boolean, seq: number, counted: boolean): void {
    this.stateChanged = true;
    if (rec.k === 'h') {
      if (!counted) return;
      const d = this.devices.get(rec.d) ?? { heartbeats: 0, resets: 0, lastHeartbeat: 0 };
      this.devices.set(rec.d, {
        heartbeats: d.heartbeats + 1,
        resets: d.resets + rec.x,
        lastHeartbeat: Math.max(d.lastHeartbeat, rec.a),
      });
      return;
    }
    const key = `${rec.s}/${rec.r}`;
    let newest = -1;
    for (let i = 0; i < rec.t.length; i++) {
      const t = rec.t[i]!;
      this.pending.add(rec.s, rec.r, blockId(t, 8), t, rec.v[i]!, seq);
      newest = Math.max(newest, t);
    }
    if (live) this.counters.received += rec.t.length;
    // One source sends a sensor's readings in time order: the windows before the newest one's are complete.
    if (newest >= 0) this.raiseMark(key, blockId(newest, 8));
    this.arrivals.set(key, this.now());
    if (rec.l !== undefined && rec.b !== undefined) {
      if (counted) this.lastBlocks.set(rec.s, { sid: rec.s, rid: rec.r, lvl: rec.l, bid: rec.b });
      // The device sends a block once it is done with its window.
      if (isLevel(rec.l)) this.raiseMark(key, blockEnd(rec.l, rec.b));
    }
  }

  private raiseMark(key: string, below: number): void {
    if (below > (this.marks.get(key) ?? 0)) this.marks.set(key, below);
  }

  /**
   * The windows of a sensor below this are sealed: written, complete (a later reading or block
   * came), or over for `sealAfter` seconds, up to the window of its newest reading; beyond that
   * (late readings waiting in a window after the data) only once nothing came for the sensor
   * for `sealAfter` seconds: else a sensor catching up would have each batch of late readings
   * written as a block of its own, each one window further, running ahead of its data.
   */
  private sealedBelow(key: string, levels: Map<Level, Set<number>>, now: number): number {
    const after = this.opts.sealAfter ?? 360;
    const mark = this.marks.get(key) ?? 0;
    const byClock = blockId(now - after, 8);
    const quiet = now - (this.arrivals.get(key) ?? -Infinity) >= after;
    return Math.max(frontier(levels), mark, Math.min(byClock, mark + 256), quiet ? byClock : 0);
  }

  /** Run a checkpoint (and a compaction when due) unless one is running. */
  kick(): Promise<void> {
    if (this.closed && !this.worker) return Promise.resolve();
    return this.runWorker(false);
  }

  /** Wait for what is pending to be in blocks (tests, shutdown). */
  async flush(): Promise<void> {
    await this.runWorker(false);
    await this.runWorker(true);
  }

  private runWorker(compactNow: boolean): Promise<void> {
    this.worker ??= (async () => {
      try {
        await this.checkpoint();
        const due = Date.now() - this.lastCompaction >= (this.opts.compactMs ?? 60_000);
        if (compactNow || due) await this.compact();
      } catch (err) {
        this.levelCache.clear();
        this.opts.onError?.(err as Error);
      } finally {
        this.worker = undefined;
      }
    })();
    return this.worker;
  }

  private async checkpoint(): Promise<void> {
    // Idle: nothing to put into blocks and no counter changed since the last checkpoint.
    if (this.pending.samples === 0 && !this.stateChanged) return;
    this.stateChanged = false;
    await this.wal.prepare();
    // One tick: the log's new segment and the new pending set begin together.
    const seq = this.wal.switchSegment();
    const flushing = (this.flushing = this.pending);
    this.pending = new PendingWindows();
    this.carried = 0;
    const state = this.stateBody(seq);
    const now = this.now();
    try {
      // Sensors are independent files: several at once overlap the file system's latency.
      await forEachLimited([...flushing.sensors], FLUSH_CONCURRENCY, ([key, windows]) =>
        this.flushSensor(key, windows, now),
      );
      await syncFs(this.opts.dir);
      // Segments holding readings of open windows stay until those windows are written.
      const keepSeq = Math.min(seq, this.pending.minSeq());
      await writeStateFile(join(this.opts.dir, STATE_FILE), STATE_VERSION, { ...state, keepSeq });
      await this.wal.dropBefore(keepSeq);
      this.counters.checkpoints++;
    } catch (err) {
      this.stateChanged = true;
      // Nothing is lost: the records stay in the log; keep what was not written readable and retry next time.
      for (const [key, windows] of flushing.sensors) {
        const [sid, rid] = splitKey(key);
        for (const [bid, w] of windows)
          for (let i = 0; i < w.times.length; i++) this.pending.add(sid, rid, bid, w.times[i]!, w.values[i]!, w.seq);
      }
      throw err;
    } finally {
      this.flushing = undefined;
    }
  }

  private stateBody(walSeq: number): StateBody {
    const lastBlocks: StateBody['lastBlocks'] = {};
    for (const [sid, b] of this.lastBlocks) lastBlocks[sid] = [b.rid, b.lvl, b.bid];
    const devices: StateBody['devices'] = {};
    for (const [did, d] of this.devices) devices[did] = [d.heartbeats, d.resets, d.lastHeartbeat];
    return { walSeq, lastBlocks, devices };
  }

  /**
   * Write the sealed windows of one sensor, each as a new level-8 block, and carry the open ones
   * over. A window leaves `windows` once written or carried, so a failure re-queues only the rest.
   */
  private async flushSensor(key: string, windows: Map<number, PendingWindow>, now: number): Promise<void> {
    const [sid, rid] = splitKey(key);
    const levels = await this.writerLevels(sid, rid);
    const next = frontier(levels);
    const sealed = this.sealedBelow(key, levels, now);
    // Late readings (their own window lies before the last stored block) go into the window after it.
    for (const [bid, w] of [...windows]) {
      if (bid >= next) continue;
      const target = windows.get(next) ?? { times: [], values: [], seq: w.seq };
      windows.set(next, target);
      target.times.push(...w.times);
      target.values.push(...w.values);
      target.seq = Math.min(target.seq, w.seq);
      windows.delete(bid);
    }
    for (const bid of [...windows.keys()].sort((a, b) => a - b)) {
      const w = windows.get(bid)!;
      if (bid >= sealed) {
        for (let i = 0; i < w.times.length; i++) this.pending.add(sid, rid, bid, w.times[i]!, w.values[i]!, w.seq);
        this.carried += w.times.length;
      } else await this.writeWindow(key, levels, bid, w);
      windows.delete(bid);
    }
  }

  /** Write a sealed window's readings as its level-8 block, the only time that key is written. */
  private async writeWindow(key: string, levels: Map<Level, Set<number>>, bid: number, w: Series): Promise<void> {
    const [sid, rid] = splitKey(key);
    const unique = sortUnique(w);
    let expired = 0;
    let series = unique;
    // Readings before the window came late: some may be stored already, some too early to place.
    if (unique.times.length > 0 && unique.times[0]! < bid) {
      const stored = await this.storedTimes(sid, rid, levels, Math.max(unique.times[0]!, bid - MAX_LEAD_SECONDS));
      series = { times: [], values: [] };
      for (let i = 0; i < unique.times.length; i++) {
        const t = unique.times[i]!;
        if (t < bid && bid - t > MAX_LEAD_SECONDS) expired++;
        else if (!(t < bid && stored.has(t))) {
          series.times.push(t);
          series.values.push(unique.values[i]!);
        }
      }
    }
    this.counters.stored += series.times.length;
    this.counters.expired += expired;
    this.counters.duplicates += w.times.length - series.times.length - expired;
    if (series.times.length === 0) return;
    await this.writeBlock({ sid, rid, lvl: 8, bid }, series, undefined);
    levels.get(8)!.add(bid);
    this.toCompact?.add(key);
  }

  /** The times stored in blocks from `from` on (late readings are checked against them). */
  private async storedTimes(
    sid: string,
    rid: number,
    levels: Map<Level, Set<number>>,
    from: number,
  ): Promise<Set<number>> {
    const keys: BlockKey[] = [];
    for (const [lvl, bids] of levels) for (const bid of bids) keys.push({ sid, rid, lvl, bid });
    const out = new Set<number>();
    for (const key of timeline(keys)) {
      if (blockEnd(key.lvl, key.bid) <= from) continue;
      const block = await this.readBlock(key);
      if (block) for (const t of blockToSeries(block).times) out.add(t);
    }
    return out;
  }

  private async compact(): Promise<void> {
    const keys = this.toCompact ?? (await this.allSensorKeys());
    this.toCompact = new Set();
    this.lastCompaction = Date.now();
    const now = this.now();
    const doomed: BlockKey[] = [];
    for (const key of keys) {
      const [sid, rid] = splitKey(key);
      const levels = await this.writerLevels(sid, rid);
      // Compaction follows the data, not the clock: a sensor catching up on days of readings would
      // otherwise see its parents run ahead of its stream, and its next readings come too late.
      const complete = Math.max(frontier(levels), this.marks.get(key) ?? 0);
      for (const lvl of [8, 12, 16] as const) {
        const up = parentLevel(lvl)!;
        const groups = new Map<number, number[]>();
        for (const bid of [...levels.get(lvl)!].sort((a, b) => a - b)) {
          const p = parentId(lvl, bid);
          // Only a window nothing will be written into again: past, and complete for this sensor.
          if (!parentWindowPast(lvl, bid, now) || blockEnd(up, p) > complete) continue;
          groups.set(p, [...(groups.get(p) ?? []), bid]);
        }
        for (const [pbid, bids] of groups) {
          const parent: BlockKey = { sid, rid, lvl: up, bid: pbid };
          const parentBlock = levels.get(up)!.has(pbid) ? await this.readBlock(parent) : undefined;
          let series: Series = parentBlock ? blockToSeries(parentBlock) : { times: [], values: [] };
          let cfgFrom: TmpoBlock | undefined = parentBlock;
          for (const bid of bids) {
            const child = await this.readBlock({ sid, rid, lvl, bid });
            if (!child) continue;
            series = mergeInto(series, blockToSeries(child)).merged;
            cfgFrom ??= child;
          }
          if (series.times.length > 0) await this.writeBlock(parent, series, cfgFrom);
          levels.get(up)!.add(pbid);
          for (const bid of bids) {
            doomed.push({ sid, rid, lvl, bid });
            levels.get(lvl)!.delete(bid);
          }
        }
      }
    }
    if (doomed.length === 0) return;
    // The parents are durable before any child goes; a kill in between leaves children that the
    // parent covers, which readers skip and the next compaction removes.
    await syncFs(this.opts.dir);
    for (const key of doomed) await fs.rm(blockPath(this.opts.dir, key), { force: true });
    this.counters.compactions++;
  }

  private async allSensorKeys(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const sid of await dirNames(sensorDir(this.opts.dir))) {
      if (!isSid(sid)) continue;
      for (const rid of await this.diskRids(sid)) out.add(`${sid}/${rid}`);
    }
    return out;
  }

  private async diskRids(sid: string): Promise<number[]> {
    return (await dirNames(join(sensorDir(this.opts.dir), sid)))
      .filter((n) => /^\d{1,15}$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  }

  /**
   * The writer's view of a sensor's stored bids, kept for the most recently written sensors: this
   * store is the only writer, so the copy stays exact and a checkpoint spares four folder reads
   * per sensor. Cleared after any failure.
   */
  private async writerLevels(sid: string, rid: number): Promise<Map<Level, Set<number>>> {
    const key = `${sid}/${rid}`;
    let levels = this.levelCache.get(key);
    if (levels) this.levelCache.delete(key);
    else levels = await this.levelSets(sid, rid, true);
    this.levelCache.set(key, levels);
    if (this.levelCache.size > LEVEL_CACHE_SENSORS) this.levelCache.delete(this.levelCache.keys().next().value!);
    return levels;
  }

  /** Stored bids per level; `clean` (the writer only) removes temp files a kill left behind. */
  private async levelSets(sid: string, rid: number, clean = false): Promise<Map<Level, Set<number>>> {
    const out = new Map<Level, Set<number>>();
    for (const lvl of LEVELS) {
      const dir = join(sensorDir(this.opts.dir), sid, String(rid), String(lvl));
      const bids = new Set<number>();
      for (const name of await dirNames(dir)) {
        if (/^\d{1,15}$/.test(name)) bids.add(Number(name));
        else if (clean && name.endsWith('.tmp')) await fs.rm(join(dir, name), { force: true }).catch(() => undefined);
      }
      out.set(lvl, bids);
    }
    return out;
  }

  /** The decoded block (core/api/blocks.ts TmpoReader.readBlock), undefined when not stored. */
  async readBlock(key: BlockKey): Promise<TmpoBlock | undefined> {
    const bytes = await this.read(key);
    return bytes && decodeBlock(bytes);
  }

  /** Replace a block by rename; durable at the next syncfs (checkpoint, compaction). */
  private async writeBlock(key: BlockKey, series: Series, previous: TmpoBlock | undefined): Promise<void> {
    const cfg = previous?.h.cfg ??
      this.opts.cfg?.(key.sid, key.rid) ?? { id: key.sid, rid: key.rid, data_type: 'counter' };
    const bytes = gzipSync(blockJson(seriesToBlock(series, cfg)), {
      level: this.opts.gzipLevel ?? 6,
      strategy: zc.Z_FILTERED,
    });
    const path = blockPath(this.opts.dir, key);
    const tmp = `${path}.${process.pid}-${++this.writes}.tmp`;
    try {
      await fs.writeFile(tmp, bytes, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await fs.writeFile(tmp, bytes, { mode: 0o600 });
    }
    await fs.rename(tmp, path);
  }

  // --- reading -----------------------------------------------------------------------------

  async list(filter: { sid?: string; rid?: number } = {}): Promise<BlockKey[]> {
    const sids = filter.sid !== undefined ? [filter.sid] : await dirNames(sensorDir(this.opts.dir));
    const keys: BlockKey[] = [];
    for (const sid of sids) {
      if (!isSid(sid)) continue;
      for (const rid of filter.rid !== undefined ? [filter.rid] : await this.diskRids(sid)) {
        const levels = await this.levelSets(sid, rid);
        for (const [lvl, bids] of levels) for (const bid of bids) keys.push({ sid, rid, lvl, bid });
      }
    }
    return keys.sort(compareKeys);
  }

  async read(key: BlockKey): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(blockPath(this.opts.dir, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async rids(sid: string): Promise<number[]> {
    if (!isSid(sid)) return [];
    const all = new Set([
      ...(await this.diskRids(sid)),
      ...this.pending.rids(sid),
      ...(this.flushing?.rids(sid) ?? []),
    ]);
    return [...all].sort((a, b) => a - b);
  }

  async forEachSample(
    sid: string,
    rid: number,
    from: number,
    to: number,
    visit: (t: number, v: number) => void,
  ): Promise<void> {
    if (!isSid(sid)) return;
    // Waiting readings first, so a checkpoint running meanwhile cannot hide them.
    const waiting = sortUnique(
      concat(this.pending.range(sid, rid, from, to), this.flushing?.range(sid, rid, from, to)),
    );
    let last = from - 1;
    let w = 0;
    const emit = (t: number, v: number): void => {
      if (t > last && t <= to) {
        visit(t, v);
        last = t;
      }
    };
    // Samples read from blocks and not yet visited, ascending: a block may start early (it holds
    // late readings), so a sample is visited only once no block still to read can hold an earlier one.
    let held: Series = { times: [], values: [] };
    const visitBefore = (bound: number): void => {
      let i = 0;
      for (;;) {
        const ht = i < held.times.length && held.times[i]! < bound ? held.times[i]! : Infinity;
        const wt = w < waiting.times.length && waiting.times[w]! < bound ? waiting.times[w]! : Infinity;
        if (ht === Infinity && wt === Infinity) break;
        if (ht <= wt) {
          emit(ht, held.values[i]!);
          if (wt === ht) w++;
          i++;
        } else emit(wt, waiting.values[w++]!);
      }
      if (i > 0) held = { times: held.times.slice(i), values: held.values.slice(i) };
    };
    for (let attempt = 0; attempt < 4; attempt++) {
      // A block's samples lie in [bid - MAX_LEAD_SECONDS, end); the timeline is in bid order.
      const line = timeline(await this.list({ sid, rid })).filter(
        (k) => blockEnd(k.lvl, k.bid) > last + 1 && k.bid - MAX_LEAD_SECONDS <= to,
      );
      let vanished = false;
      for (const key of line) {
        visitBefore(key.bid - MAX_LEAD_SECONDS);
        const block = await this.readBlock(key);
        if (!block) {
          vanished = true;
          break;
        }
        const s = inRange(blockToSeries(block), last, to);
        if (s.times.length === 0) continue;
        if (held.times.length === 0 || s.times[0]! > held.times.at(-1)!)
          held = { times: [...held.times, ...s.times], values: [...held.values, ...s.values] };
        else held = mergeInto(held, s).merged;
      }
      if (!vanished) break;
      // Compaction replaced a block meanwhile: list again from the last sample visited.
      held = { times: [], values: [] };
    }
    visitBefore(Infinity);
  }

  async lastBlock(sid: string): Promise<BridgeSyncEntry | undefined> {
    return this.lastBlocks.get(sid);
  }

  async deviceState(did: string): Promise<DeviceState | undefined> {
    return this.devices.get(did);
  }

  healthy(): boolean {
    return !this.closed && !this.writeFailed;
  }

  stats(): StoreStats {
    return {
      ...this.counters,
      pending: this.pending.samples - this.carried + (this.flushing?.samples ?? 0),
      open: this.carried,
      walBytes: this.wal.bytes,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    while (this.worker) await this.worker;
    this.closed = true;
    // Readings still waiting are in the log; the next open puts them into blocks.
    await this.wal.close();
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

function splitKey(key: string): [string, number] {
  const at = key.indexOf('/');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/** The end of a sensor's last stored block, any level: every block written from now on starts there or later. */
function frontier(levels: Map<Level, Set<number>>): number {
  let end = 0;
  for (const [lvl, bids] of levels) for (const bid of bids) end = Math.max(end, blockEnd(lvl, bid));
  return end;
}

/** The samples with after < t <= to. */
function inRange(s: Series, after: number, to: number): Series {
  const out: Series = { times: [], values: [] };
  for (let i = 0; i < s.times.length; i++) {
    const t = s.times[i]!;
    if (t > after && t <= to) {
      out.times.push(t);
      out.values.push(s.values[i]!);
    }
  }
  return out;
}

function concat(a: Series, b: Series | undefined): Series {
  return b ? { times: [...a.times, ...b.times], values: [...a.values, ...b.values] } : a;
}

async function dirNames(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Make everything written under `dir` durable with one syncfs(2) (coreutils `sync -f`) instead of
 * an fsync per block file; where that is missing, a plain `sync`.
 */
function syncFs(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', dir], (err) => {
      if (!err) return resolve();
      execFile('sync', [], (err2) => (err2 ? reject(err2) : resolve()));
    });
  });
}

function parseState(json: unknown): StateBody {
  const o = json as Partial<StateBody> & { version?: number };
  if (o?.version !== STATE_VERSION) throw new Error(`unknown store state version ${String(o?.version)}`);
  if (!Number.isSafeInteger(o.walSeq)) throw new Error('walSeq missing');
  // Segments before keepSeq hold no reading that waits; a state without it (an older version) waits for none.
  const keepSeq = Number.isSafeInteger(o.keepSeq) ? Math.min(o.keepSeq!, o.walSeq!) : o.walSeq!;
  return { walSeq: o.walSeq!, keepSeq, lastBlocks: o.lastBlocks ?? {}, devices: o.devices ?? {} };
}
