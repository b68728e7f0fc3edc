import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fsyncDir } from '../util/atomic-file';
import { backgroundClock, type Clock } from '../util/clock';
import { SegmentLog } from '../util/segment-log';
import { COMMIT_FILE, CommitWriter, readCommit, type Commit } from './commit';
import { isUploadSid, uploadProblem, type Reading, type ReadingProblem } from './reading';
import { decodeRecord, encodeRecord, RECORD_BYTES, recordView } from './record';

export { RECORD_BYTES } from './record';
const SEGMENT_SUFFIX = '.seg';
const DEFAULT_SEGMENT_BYTES = 1 << 20;
const DEFAULT_COMMIT_INTERVAL_MS = 1000;
const DEFAULT_COMMIT_MAX_RECORDS = 50_000;
/** most records one batch holds */
const MAX_BATCH_RECORDS = 65_536;
/** records read from disk at a time: a read serves many batches */
const READ_RECORDS = 16_384;
/** sensors whose last read stays in memory (one read buffer each) */
const CACHED_SENSORS = 8;

export interface UploadQueueOptions {
  /** the queue's own folder (one sub-folder per sensor), e.g. `<dataDir>/upload` */
  dir: string;
  /** past this size a segment is sealed and the next append begins a new one */
  segmentBytes?: number;
  /** damaged or torn data that was skipped; never fatal */
  onWarning?: (text: string) => void;
  /**
   * A deferred acknowledgement (`ack(batch, n, { defer: true })`) is written at most about this
   * long after it was made, ms (default 1000), together with those made meanwhile.
   */
  commitIntervalMs?: number;
  /**
   * ...or as soon as this many acknowledged records wait (default 50 000); and `peek` waits
   * while this many wait beyond the pointer write under way.
   *
   * The bound this gives: a SIGKILL or power cut makes the queue send again the readings the
   * server took whose pointer was not on disk yet, per sensor at most
   * 2 x (commitMaxRecords + largest batch read) records, and none acknowledged more than about
   * commitIntervalMs (plus the pointer write under way) before the crash. With the Uploader's
   * defaults (batches of 1000, no filters) that is at most 102 000 readings per sensor in the
   * middle of a catch-up; once a sensor is caught up its pointer is written at once, so
   * nothing is sent again. The server keeps one value per (sid, ts). Nothing is lost or
   * skipped either way: the pointer on disk only ever holds a place the server acknowledged.
   */
  commitMaxRecords?: number;
  /** timers of the deferred pointer writes (tests) */
  clock?: Clock;
}

export type AppendResult = 'queued' | 'not-after-last' | 'invalid-sid' | ReadingProblem;

export interface AppendManyResult {
  queued: number;
  skipped: Partial<Record<Exclude<AppendResult, 'queued'>, number>>;
}

/** Readings read from one sensor's queue, to be sent and then acknowledged with `ack`. */
export interface Batch {
  readonly sid: string;
  /** ascending by time, each newer than everything acknowledged */
  readonly readings: Reading[];
  /** queued records this batch covers, skipped ones included */
  readonly records: number;
  /** @internal where the batch began: `ack` refuses a batch the queue has moved past */
  readonly start: Commit;
  /** @internal the segment its readings came from, and the byte just after each of them:
   *  `from + (i + 1) * RECORD_BYTES`, or `ends[i]` when records between them were skipped */
  readonly seg: number;
  readonly from: number;
  readonly ends?: number[];
  /** @internal the position after the whole batch, skipped tail included */
  readonly end: Commit;
}

interface ReadCache {
  seg: number;
  /** byte in the segment where `buf` begins */
  from: number;
  /** bytes of `buf` read */
  len: number;
  buf: Buffer;
  view: DataView;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface SensorQueue {
  sid: string;
  dir: string;
  log: SegmentLog;
  /** the commit pointer: `pointer.current` is where reading resumes */
  pointer: CommitWriter;
  /** the bytes of the last read, for the batches after it */
  cache?: ReadCache;
  /** newest timestamp on disk (or acknowledged); appends must be after it */
  durableTs: number | null;
  /** newest timestamp accepted, possibly still waiting for its fsync */
  acceptedTs: number | null;
  pending: Buffer[];
  pendingTs: number | null;
  waiters: Waiter[];
}

export interface QueueStats {
  appended: number;
  fsyncs: number;
  /** records skipped on read: bad CRC, or not newer than the record before */
  skippedRecords: number;
  /** commit pointers written (one may carry many acknowledgements) */
  commitWrites: number;
}

/**
 * A durable per-sensor queue of counter readings on their way to the server.
 *
 * - `append` resolves once the reading is fsynced. Appends made while a write is under way
 *   are written and fsynced together (group commit), so many appends share one fsync.
 * - Each sensor has append-only segment files. After a restart a new segment is begun, never
 *   the old one continued, so a torn record at the end of a segment stays where it is and is
 *   skipped on read.
 * - Readings leave only through `ack`, after the server took them: a commit pointer
 *   (segment, offset, newest timestamp) written atomically (see CommitWriter; deferred acks
 *   share writes). Segments wholly before the pointer on disk are deleted.
 * - Timestamps are strictly increasing per sensor, as the server's RRD needs. That also makes
 *   the pointer's timestamp a second guard: nothing at or before it is read again.
 * - Memory does not grow with the backlog: reads go from disk in chunks of at most a few
 *   hundred KiB, kept for the next batches of a few recently read sensors.
 */
export class UploadQueue {
  private readonly sensors = new Map<string, SensorQueue>();
  private flushing: Promise<void> | undefined;
  private flushQueued = false;
  private closed = false;
  private readonly clock: Clock;
  /** sensors holding a read cache, least recently read first */
  private readonly cached = new Set<SensorQueue>();
  readonly counters: QueueStats = { appended: 0, fsyncs: 0, skippedRecords: 0, commitWrites: 0 };

  private constructor(private readonly opts: UploadQueueOptions) {
    this.clock = opts.clock ?? backgroundClock;
  }

  static async open(opts: UploadQueueOptions): Promise<UploadQueue> {
    const q = new UploadQueue(opts);
    // A folder made here must itself survive a power cut: fsync each parent that got an entry.
    const made = await fs.mkdir(opts.dir, { recursive: true });
    if (made !== undefined) {
      for (let d = resolve(opts.dir), i = 0; i < 64 && d.length >= resolve(made).length; d = dirname(d), i++)
        await fsyncDir(dirname(d));
    }
    for (const e of await fs.readdir(opts.dir, { withFileTypes: true })) {
      if (e.isDirectory() && isUploadSid(e.name)) q.sensors.set(e.name, await q.load(e.name));
    }
    return q;
  }

  private warn(text: string): void {
    this.opts.onWarning?.(text);
  }

  private async load(sid: string): Promise<SensorQueue> {
    const dir = join(this.opts.dir, sid);
    for (const name of await fs.readdir(dir)) {
      if (name.startsWith(`.${COMMIT_FILE}.`) && name.endsWith('.tmp')) await fs.rm(join(dir, name), { force: true });
    }
    const found = await SegmentLog.scan(dir, SEGMENT_SUFFIX, RECORD_BYTES);
    const log = this.segmentLog(dir, true);
    const commit = await this.loadCommit(dir, sid, found[0]?.seq ?? 0);
    for (const f of found) {
      // Segments before the pointer were acknowledged; a crash after the pointer was written
      // and before they were deleted leaves them behind.
      if (f.seq < commit.seg) {
        await fs.rm(log.path(f.seq), { force: true });
        continue;
      }
      if (f.whole !== f.size)
        this.warn(
          `upload queue ${sid}: ${f.size - f.whole} bytes of a torn record at the end of segment ${f.seq} ignored`,
        );
      log.adopt(f.seq, f.whole);
    }
    if (commit.offset > (log.sealedEnd(commit.seg) ?? 0)) commit.offset = log.sealedEnd(commit.seg) ?? 0;
    const s: SensorQueue = {
      sid,
      dir,
      log,
      pointer: this.commitWriter(dir, log, commit),
      durableTs: commit.ts,
      acceptedTs: null,
      pending: [],
      pendingTs: null,
      waiters: [],
    };
    const last = await this.lastRecordTs(s);
    if (last !== undefined && (s.durableTs === null || last > s.durableTs)) s.durableTs = last;
    s.acceptedTs = s.durableTs;
    return s;
  }

  private async loadCommit(dir: string, sid: string, firstSeg: number): Promise<Commit> {
    const path = join(dir, COMMIT_FILE);
    const commit = await readCommit(path, firstSeg);
    if (!('aside' in commit)) return commit;
    // Unreadable: send everything again (the server keeps one value per timestamp) rather
    // than lose anything, and keep the file for a person to look at.
    const aside = commit.aside;
    this.warn(
      `upload queue ${sid}: commit pointer unreadable, moved to ${aside}; the sensor's queued readings will be sent again`,
    );
    return { seg: firstSeg, offset: 0, ts: null };
  }

  private segmentLog(dir: string, dirDurable: boolean): SegmentLog {
    const segmentBytes = Math.max(RECORD_BYTES, this.opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    return new SegmentLog({ dir, suffix: SEGMENT_SUFFIX, recordBytes: RECORD_BYTES, segmentBytes, dirDurable });
  }

  /** The sensor's pointer writer; each write deletes the segments wholly behind it. */
  private commitWriter(dir: string, log: SegmentLog, initial: Commit): CommitWriter {
    const policy = {
      intervalMs: Math.max(0, this.opts.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS),
      maxRecords: Math.max(1, this.opts.commitMaxRecords ?? DEFAULT_COMMIT_MAX_RECORDS),
      clock: this.clock,
    };
    return new CommitWriter(join(dir, COMMIT_FILE), initial, policy, async (c) => {
      this.counters.commitWrites++;
      await log.removeBefore(c.seg);
    });
  }

  /** The newest intact record's timestamp, looking back from the last segment. */
  private async lastRecordTs(s: SensorQueue): Promise<number | undefined> {
    for (let i = s.log.segments.length - 1; i >= 0; i--) {
      const seq = s.log.segments[i]!;
      const size = s.log.end(seq);
      const c = s.pointer.current;
      const floor = seq === c.seg ? c.offset : 0;
      const chunk = Buffer.alloc(Math.min(size, 4096 * RECORD_BYTES));
      const view = recordView(chunk);
      for (let end = size; end > floor;) {
        const start = Math.max(floor, end - chunk.length);
        await s.log.read(seq, chunk, end - start, start);
        for (let p = end - start - RECORD_BYTES; p >= 0; p -= RECORD_BYTES) {
          const rec = decodeRecord(view, p);
          if (rec) return rec[0];
        }
        end = start;
      }
    }
    return undefined;
  }

  /**
   * Queue one reading; resolves once it is on disk. Readings that can never be uploaded
   * (fractional counter, unset clock, not after the sensor's last one) resolve at once with
   * the reason and are not stored. Rejects only when the disk write fails.
   */
  async append(sid: string, reading: Reading): Promise<AppendResult> {
    const r = await this.appendMany(sid, [reading]);
    if (r.queued) return 'queued';
    return (Object.keys(r.skipped)[0] as AppendResult | undefined) ?? 'queued';
  }

  /** Queue many readings of one sensor (ascending) with one write; resolves once they are on disk. */
  async appendMany(sid: string, readings: readonly Reading[]): Promise<AppendManyResult> {
    if (this.closed) throw new Error('upload queue is closed');
    const result: AppendManyResult = { queued: 0, skipped: {} };
    const skip = (why: Exclude<AppendResult, 'queued'>, n = 1) =>
      (result.skipped[why] = (result.skipped[why] ?? 0) + n);
    if (!isUploadSid(sid)) {
      skip('invalid-sid', readings.length);
      return result;
    }
    const s = this.sensor(sid);
    const buf = Buffer.allocUnsafe(readings.length * RECORD_BYTES);
    const view = recordView(buf);
    let n = 0;
    for (const [ts, counter] of readings) {
      const problem = uploadProblem(ts, counter);
      if (problem) skip(problem);
      else if (s.acceptedTs !== null && ts <= s.acceptedTs) skip('not-after-last');
      else {
        encodeRecord(view, n++ * RECORD_BYTES, ts, counter);
        s.acceptedTs = ts;
      }
    }
    if (n === 0) return result;
    s.pending.push(n === readings.length ? buf : buf.subarray(0, n * RECORD_BYTES));
    s.pendingTs = s.acceptedTs;
    await new Promise<void>((resolve, reject) => {
      s.waiters.push({ resolve, reject });
      this.scheduleFlush();
    });
    this.counters.appended += n;
    result.queued = n;
    return result;
  }

  private sensor(sid: string): SensorQueue {
    let s = this.sensors.get(sid);
    if (!s) {
      const dir = join(this.opts.dir, sid);
      const log = this.segmentLog(dir, false);
      s = {
        sid,
        dir,
        log,
        pointer: this.commitWriter(dir, log, { seg: 0, offset: 0, ts: null }),
        durableTs: null,
        acceptedTs: null,
        pending: [],
        pendingTs: null,
        waiters: [],
      };
      this.sensors.set(sid, s);
    }
    return s;
  }

  /**
   * Group commit: one flush at a time; whatever was appended while it ran goes in the next
   * one, so under load each fsync carries every append that arrived during the one before.
   */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    const after = this.flushing ?? Promise.resolve();
    this.flushing = after.then(() => new Promise<void>((r) => setImmediate(r))).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    const work: Promise<void>[] = [];
    for (const s of this.sensors.values()) {
      if (!s.pending.length) continue;
      const bytes = s.pending.length === 1 ? s.pending[0]! : Buffer.concat(s.pending);
      const waiters = s.waiters;
      const lastTs = s.pendingTs;
      s.pending = [];
      s.waiters = [];
      work.push(
        this.writeDurably(s, bytes).then(
          () => {
            s.durableTs = lastTs;
            for (const w of waiters) w.resolve();
          },
          (err: Error) => {
            // What the failed write left is unknown: later appends go to a fresh segment. The
            // caller may queue the same readings again, unless newer ones are already waiting.
            if (!s.pending.length) s.acceptedTs = s.durableTs;
            for (const w of waiters) w.reject(err);
          },
        ),
      );
    }
    await Promise.all(work);
  }

  private async writeDurably(s: SensorQueue, bytes: Buffer): Promise<void> {
    await s.log.write(bytes, s.pointer.current.seg);
    this.counters.fsyncs++;
  }

  /**
   * Up to `max` of the oldest unacknowledged readings of `sid`, or undefined when there are
   * none. A batch comes from one segment. Records that fail their CRC or are not newer than
   * the one before are skipped (and counted); the batch's `records` includes them, so
   * acknowledging it moves past them too. Call one at a time per sensor, with `ack` between.
   * Waits while too many deferred acknowledgements wait for their pointer write (see
   * `commitMaxRecords`), and rejects when that write fails.
   */
  async peek(sid: string, max: number): Promise<Batch | undefined> {
    const s = this.sensors.get(sid);
    if (!s || max < 1) return undefined;
    await s.pointer.throttle();
    const want = Math.min(max, MAX_BATCH_RECORDS);
    const start: Commit = { ...s.pointer.current };
    let pos: Commit = { ...start };
    let records = 0;
    let skipped = 0;
    const report = () => {
      if (!skipped) return;
      this.counters.skippedRecords += skipped;
      this.warn(
        `upload queue ${sid}: ${skipped} damaged or out-of-order record(s) skipped before segment ${pos.seg} byte ${pos.offset}`,
      );
    };
    // Each turn returns, or moves past a segment, or past at least `want` records of one.
    for (let turns = s.log.segments.length * 2 + 2 + Math.ceil(this.depth(sid) / want); turns > 0; turns--) {
      const idx = s.log.segments.findIndex((q) => q >= pos.seg);
      if (idx < 0) break;
      const seq = s.log.segments[idx]!;
      if (seq !== pos.seg) pos = { seg: seq, offset: 0, ts: pos.ts };
      const end = s.log.end(seq);
      if (pos.offset >= end) {
        if (s.log.activeSeq === seq || idx === s.log.segments.length - 1) break;
        pos = { seg: s.log.segments[idx + 1]!, offset: 0, ts: pos.ts };
        continue;
      }
      const cache = await this.cover(s, seq, pos.offset, Math.min(end - pos.offset, want * RECORD_BYTES), end);
      const readings: Reading[] = [];
      let ends: number[] | undefined;
      const from = pos.offset;
      let ts = pos.ts;
      let p = from - cache.from;
      while (p < cache.len && readings.length < want) {
        const rec = decodeRecord(cache.view, p);
        p += RECORD_BYTES;
        records++;
        if (!rec || (ts !== null && rec[0] <= ts)) {
          skipped++;
          ends ??= readings.map((_, i) => from + (i + 1) * RECORD_BYTES);
          continue;
        }
        readings.push(rec);
        ends?.push(cache.from + p);
        ts = rec[0];
      }
      pos = { seg: seq, offset: cache.from + p, ts };
      if (readings.length) {
        report();
        return { sid, readings, records, start, seg: seq, from, ...(ends ? { ends } : {}), end: pos };
      }
    }
    report();
    if (records > 0) return { sid, readings: [], records, start, seg: pos.seg, from: pos.offset, end: pos };
    return undefined;
  }

  /**
   * The bytes [offset, offset + need) of a segment, from the sensor's last read when it holds
   * them, else read from disk with more after them (up to `end`, the bytes readers may see).
   * What a read returned never changes: segments are append-only and only durable bytes are read.
   */
  private async cover(s: SensorQueue, seg: number, offset: number, need: number, end: number): Promise<ReadCache> {
    const c = s.cache;
    if (c && c.seg === seg && c.from <= offset && offset + need <= c.from + c.len) {
      this.cached.delete(s);
      this.cached.add(s);
      return c;
    }
    const len = Math.min(end - offset, Math.max(need, READ_RECORDS * RECORD_BYTES));
    // The buffer is nobody's cache while the read fills it, so no other sensor takes it meanwhile.
    let buf = c?.buf;
    s.cache = undefined;
    this.cached.delete(s);
    if (!buf && this.cached.size >= CACHED_SENSORS) {
      const oldest = this.cached.values().next().value!;
      buf = oldest.cache!.buf;
      oldest.cache = undefined;
      this.cached.delete(oldest);
    }
    if (!buf || buf.length < len) buf = Buffer.allocUnsafeSlow(Math.max(len, READ_RECORDS * RECORD_BYTES));
    await s.log.read(seg, buf, len, offset);
    s.cache = { seg, from: offset, len, buf, view: c?.buf === buf ? c.view : recordView(buf) };
    this.cached.add(s);
    return s.cache;
  }

  /**
   * The server took the first `count` readings of `batch` (all by default): move the commit
   * pointer past them; segments wholly behind it are deleted once it is on disk. The pointer
   * moves in memory at once, so the next batch can be read and sent; the promise resolves once
   * it is on disk. With `defer`, that write may wait (`commitIntervalMs`, `commitMaxRecords`)
   * and carry later acknowledgements too: a crash before it sends those readings again.
   */
  ack(batch: Batch, count = batch.readings.length, opts: { defer?: boolean } = {}): Promise<void> {
    try {
      const move = this.moveFor(batch, count);
      // Not an async function: a deferred write may take a second, and the batch (a thousand
      // readings) would be kept alive by its frame until then.
      return move ? move.s.pointer.move(move.next, move.records, opts.defer === true) : Promise.resolve();
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Where acknowledging `count` readings of `batch` moves the sensor's pointer; undefined when nowhere. */
  private moveFor(batch: Batch, count: number): { s: SensorQueue; next: Commit; records: number } | undefined {
    const s = this.sensors.get(batch.sid);
    if (!s) throw new Error(`upload queue: no sensor ${batch.sid}`);
    const c = s.pointer.current;
    if (c.seg !== batch.start.seg || c.offset !== batch.start.offset)
      throw new Error(`upload queue ${batch.sid}: batch was already acknowledged`);
    if (count < 0 || count > batch.readings.length)
      throw new Error(`upload queue: cannot acknowledge ${count} of ${batch.readings.length}`);
    if (count === 0 && batch.readings.length) return undefined;
    const whole = count === batch.readings.length;
    let next: Commit = whole
      ? { ...batch.end }
      : {
          seg: batch.seg,
          offset: batch.ends ? batch.ends[count - 1]! : batch.from + count * RECORD_BYTES,
          ts: batch.readings[count - 1]![0],
        };
    // A sealed segment read to its end will get nothing more: point past it, so it can go.
    const sealedEnd = s.log.sealedEnd(next.seg);
    if (s.log.activeSeq !== next.seg && sealedEnd !== undefined && next.offset >= sealedEnd)
      next = { seg: next.seg + 1, offset: 0, ts: next.ts };
    return { s, next, records: whole ? batch.records : count };
  }

  /** Write the deferred acknowledgements of `sid` now, without waiting for `commitIntervalMs`; rejects when that fails. */
  async commit(sid: string): Promise<void> {
    const s = this.sensors.get(sid);
    const err = s && (await s.pointer.flush());
    if (err) throw err;
  }

  /** Readings on disk not yet acknowledged (skipped damaged records included until passed). */
  depth(sid: string): number {
    const s = this.sensors.get(sid);
    if (!s) return 0;
    const c = s.pointer.current;
    return s.log.bytesAfter(c.seg, c.offset) / RECORD_BYTES;
  }

  /** Every sensor the queue has a folder or appends for. */
  sids(): string[] {
    return [...this.sensors.keys()];
  }

  /** The newest timestamp queued for `sid` (on disk or acknowledged), to resume after a restart. */
  lastTs(sid: string): number | undefined {
    return this.sensors.get(sid)?.acceptedTs ?? undefined;
  }

  /** Write what is pending (appends, deferred acknowledgements), then close the files. Appends after this throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Every append schedules its flush before it returns, and each flush is chained after
    // the one before, so the newest covers them all.
    await this.flushing;
    await Promise.all(
      [...this.sensors.values()].map(async (s) => {
        const err = await s.pointer.flush();
        s.pointer.dispose();
        if (err)
          this.warn(
            `upload queue ${s.sid}: commit pointer not written (${err.message}); readings acknowledged since the last write will be sent again`,
          );
      }),
    );
    for (const s of this.cached) s.cache = undefined;
    this.cached.clear();
    for (const s of this.sensors.values()) await s.log.seal();
  }
}
