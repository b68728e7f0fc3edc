import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDir } from '../../util/atomic-file';
import { crc32 } from '../../util/checksum';
import { SegmentLog } from '../../util/segment-log';
import type { ReadingRow } from './rows';

/**
 * Records are 40 bytes: sid (16 bytes, the 32 hex digits), ts (float64 LE), value (float64 LE),
 * kind (1 gauge, 2 counter), 3 zero bytes, CRC-32 of the 36 bytes before it (uint32 LE). Fixed
 * width keeps a torn write from shifting the records after it; the CRC tells a record that never
 * finished (or a block zero-filled after a power cut) from a real one.
 */
export const SPOOL_RECORD_BYTES = 40;
const SEGMENT_SUFFIX = '.spool';
const DEFAULT_SEGMENT_BYTES = 1 << 20;
const KIND_CODE = { gauge: 1, counter: 2 } as const;

export interface SpoolOptions {
  /** the spool's own folder, e.g. `<dataDir>/mysql-<node id>` */
  dir: string;
  /** past this size the next write begins a new segment file */
  segmentBytes?: number;
  /** damaged or torn records skipped; never fatal */
  onWarning?: (text: string) => void;
}

interface Position {
  seg: number;
  offset: number;
}

/** Rows read from the spool, to be written to the database and then acknowledged. */
export interface SpoolBatch {
  readonly rows: ReadingRow[];
  /** @internal where reading continues once this batch is acknowledged */
  readonly end: Position;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
  rows: number;
}

/**
 * Readings that could not be written to the database, kept on disk in arrival order until they
 * are.
 *
 * - `append` resolves once the rows are fsynced; appends made while a write is under way are
 *   written and fsynced together (group commit). Rows are queued in call order, synchronously.
 * - Segment files are append-only. After a restart a new one is begun and the old ones are read
 *   to their last whole record, so a torn tail stays where it is and is skipped.
 * - The read position lives in memory only: after a restart the spool is read again from the
 *   start of its oldest segment. What was already written is written again, which the readings
 *   table's primary key makes harmless (INSERT IGNORE); one segment (1 MiB, 26 214 rows) is the
 *   most that is ever replayed.
 * - Segments read to their end are deleted; so is the last one once everything is read.
 */
export class MysqlSpool {
  private readonly log: SegmentLog;
  private read: Position = { seg: 0, offset: 0 };
  private queued: Buffer[] = [];
  private waiters: Waiter[] = [];
  private pendingRows = 0;
  private flushing: Promise<void> | undefined;
  private flushQueued = false;
  private closed = false;
  readonly counters = { appended: 0, fsyncs: 0, skipped: 0 };

  private constructor(private readonly opts: SpoolOptions) {
    const segmentBytes = Math.max(SPOOL_RECORD_BYTES, opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
    this.log = new SegmentLog({
      dir: opts.dir,
      suffix: SEGMENT_SUFFIX,
      recordBytes: SPOOL_RECORD_BYTES,
      segmentBytes,
      dirDurable: true,
    });
  }

  static async open(opts: SpoolOptions): Promise<MysqlSpool> {
    const s = new MysqlSpool(opts);
    const made = await fs.mkdir(opts.dir, { recursive: true });
    if (made !== undefined) await fsyncDir(dirname(opts.dir));
    for (const { seq, size, whole } of await SegmentLog.scan(opts.dir, SEGMENT_SUFFIX, SPOOL_RECORD_BYTES)) {
      if (whole !== size)
        s.warn(`MySQL spool: ${size - whole} bytes of a torn record at the end of ${s.log.path(seq)} ignored`);
      // Begun and never written to before a crash (or only a torn record): nothing to keep.
      if (whole === 0) await fs.rm(s.log.path(seq), { force: true });
      else s.log.adopt(seq, whole);
    }
    s.read = { seg: s.log.segments[0] ?? 0, offset: 0 };
    return s;
  }

  private warn(text: string): void {
    this.opts.onWarning?.(text);
  }

  /** Rows accepted and not yet on disk. */
  get pending(): number {
    return this.pendingRows;
  }

  /** Rows on disk not yet acknowledged (damaged ones included until read past). */
  depth(): number {
    return this.log.bytesAfter(this.read.seg, this.read.offset) / SPOOL_RECORD_BYTES;
  }

  /** Nothing on disk to read and nothing on its way there. */
  get empty(): boolean {
    return this.pendingRows === 0 && this.depth() === 0;
  }

  /** Queue rows (in call order, at once) and resolve once they are on disk. */
  append(rows: readonly ReadingRow[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('MySQL spool is closed'));
    if (rows.length === 0) return Promise.resolve();
    const buf = Buffer.alloc(rows.length * SPOOL_RECORD_BYTES);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    rows.forEach((r, i) => encodeRecord(buf, view, i * SPOOL_RECORD_BYTES, r));
    this.queued.push(buf);
    this.pendingRows += rows.length;
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject, rows: rows.length });
      this.scheduleFlush();
    });
  }

  /** Resolves when nothing is being written (what was appended before is on disk, or failed). */
  async settled(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** One write and fsync at a time; whatever was appended meanwhile goes in the next one. */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    const after = this.flushing ?? Promise.resolve();
    const next = after.then(() => this.flush());
    this.flushing = next;
    void next.finally(() => {
      if (this.flushing === next) this.flushing = undefined;
    });
  }

  private async flush(): Promise<void> {
    this.flushQueued = false;
    if (!this.queued.length) return;
    const bytes = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued);
    const waiters = this.waiters;
    this.queued = [];
    this.waiters = [];
    const rows = waiters.reduce((n, w) => n + w.rows, 0);
    try {
      await this.writeDurably(bytes);
      this.counters.appended += rows;
      this.pendingRows -= rows;
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.pendingRows -= rows;
      for (const w of waiters) w.reject(err as Error);
    }
  }

  private async writeDurably(bytes: Buffer): Promise<void> {
    await this.log.write(bytes, this.read.seg + 1);
    this.counters.fsyncs++;
  }

  /**
   * Up to `max` of the oldest unacknowledged rows, in the order they were appended, or undefined
   * when there are none. Damaged records are skipped, counted and reported. Call one at a time,
   * with `ack` in between.
   */
  async peek(max: number): Promise<SpoolBatch | undefined> {
    let pos = { ...this.read };
    let skipped = 0;
    const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(max, 65_536)) * SPOOL_RECORD_BYTES);
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const report = () => {
      if (!skipped) return;
      this.counters.skipped += skipped;
      this.warn(`MySQL spool: ${skipped} damaged record(s) skipped in ${this.log.path(pos.seg)}`);
    };
    // Each turn returns, or moves past a segment or past a chunk of one.
    for (
      let turns = this.log.segments.length * 2 + 2 + Math.ceil((this.depth() * SPOOL_RECORD_BYTES) / chunk.length);
      turns > 0;
      turns--
    ) {
      const idx = this.log.segments.findIndex((q) => q >= pos.seg);
      if (idx < 0) break;
      const seq = this.log.segments[idx]!;
      if (seq !== pos.seg) pos = { seg: seq, offset: 0 };
      const end = this.log.end(seq);
      if (pos.offset >= end) {
        if (this.log.activeSeq === seq || idx === this.log.segments.length - 1) break;
        pos = { seg: this.log.segments[idx + 1]!, offset: 0 };
        continue;
      }
      const len = Math.min(end - pos.offset, chunk.length);
      await this.log.read(seq, chunk, len, pos.offset);
      const rows: ReadingRow[] = [];
      for (let p = 0; p < len; p += SPOOL_RECORD_BYTES) {
        const r = decodeRecord(chunk, view, p);
        if (r) rows.push(r);
        else skipped++;
      }
      pos = { seg: seq, offset: pos.offset + len };
      if (rows.length) {
        report();
        return { rows, end: pos };
      }
    }
    report();
    // Only damaged records: acknowledging the empty batch moves past them.
    if (pos.seg !== this.read.seg || pos.offset !== this.read.offset) return { rows: [], end: pos };
    return undefined;
  }

  /** The rows of `batch` are in the database: read past them, delete what is wholly read. */
  async ack(batch: SpoolBatch): Promise<void> {
    this.read = { ...batch.end };
    const log = this.log;
    // Decided all at once, before any file goes: the removals change the log at once.
    const gone: Promise<void>[] = [];
    while (log.segments.length && log.segments[0]! < this.read.seg && log.segments[0] !== log.activeSeq)
      gone.push(log.removeFirst());
    // The last segment, read to its end with nothing on the way: the spool is empty again.
    const last = log.segments.at(-1);
    if (last !== undefined && this.read.seg === last && this.read.offset >= log.end(last) && this.pendingRows === 0) {
      // pendingRows 0: no write is under way either, a write's rows count until it is fsynced.
      gone.push(log.removeLast());
      this.read = { seg: last, offset: 0 };
    } else if (
      log.segments.length &&
      this.read.offset >= log.end(this.read.seg) &&
      this.read.seg !== log.activeSeq &&
      log.segments[0] === this.read.seg
    ) {
      // A sealed segment read to its end: nothing more comes into it.
      gone.push(log.removeFirst());
      this.read = { seg: log.segments[0] ?? this.read.seg, offset: 0 };
    }
    await Promise.all(gone);
  }

  /** Write what is queued, then close the file. Appends after this reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.settled();
    await this.log.seal().catch(() => undefined);
  }
}

function encodeRecord(buf: Buffer, view: DataView, at: number, r: ReadingRow): void {
  buf.write(r.sid, at, 16, 'hex');
  buf.writeDoubleLE(r.ts, at + 16);
  buf.writeDoubleLE(r.value, at + 24);
  buf.writeUInt8(KIND_CODE[r.kind], at + 32);
  buf.writeUInt32LE(crc32(view, at, 36), at + 36);
}

function decodeRecord(buf: Buffer, view: DataView, at: number): ReadingRow | undefined {
  if (crc32(view, at, 36) !== buf.readUInt32LE(at + 36)) return undefined;
  const code = buf.readUInt8(at + 32);
  const kind = code === KIND_CODE.gauge ? 'gauge' : code === KIND_CODE.counter ? 'counter' : undefined;
  const ts = buf.readDoubleLE(at + 16);
  const value = buf.readDoubleLE(at + 24);
  if (!kind || !Number.isInteger(ts) || ts <= 0 || !Number.isFinite(value)) return undefined;
  return { sid: buf.toString('hex', at, at + 16), kind, ts, value };
}
