import { promises as fs, constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir } from './atomic-file';

export interface SegmentLogOptions {
  /** the folder that holds the segment files (and nothing the log does not own by name) */
  dir: string;
  /** file name ending, e.g. `.seg`: segments are `<16-digit number><suffix>` */
  suffix: string;
  /** every record has this many bytes; a shorter tail is a torn write */
  recordBytes: number;
  /** past this size the next write begins a new segment */
  segmentBytes: number;
  /**
   * The folder exists and its entry is durable. When false, the first write makes it and
   * fsyncs its parent, so a folder made on demand survives a power cut too.
   */
  dirDurable: boolean;
}

/** A segment found on disk: its number, size, and the size of its whole records. */
export interface ScannedSegment {
  seq: number;
  size: number;
  whole: number;
}

interface Active {
  seq: number;
  fh: FileHandle;
  /** bytes written */
  size: number;
  /** bytes fsynced: what readers may see */
  durable: number;
}

/**
 * Append-only, fixed-record segment files in one folder: the storage under the upload queue
 * and the MySQL spool. Each record carries its own checksum (the owner's record format); this
 * log only keeps the files:
 *
 * - A write goes to the active segment and is fsynced before it resolves; the owner batches
 *   appends made meanwhile into the next write (group commit).
 * - After a restart a new segment is begun, never an old one continued, so a torn record at the
 *   end of a segment stays where it is; a segment's readable end is its last whole record.
 * - Readers see only fsynced bytes, so what a read returned never changes.
 * - A failed write seals the segment at its durable size: what that write left is unknown, and
 *   the next write begins a new segment.
 */
export class SegmentLog {
  /** segment numbers on disk, ascending */
  readonly segments: number[] = [];
  /** whole-record sizes of the segments other than the active one */
  private readonly sealed = new Map<number, number>();
  private active: Active | undefined;
  private dirDurable: boolean;

  constructor(private readonly opts: SegmentLogOptions) {
    this.dirDurable = opts.dirDurable;
  }

  /** The segment files in `dir`, ascending, each with its whole-record size. */
  static async scan(dir: string, suffix: string, recordBytes: number): Promise<ScannedSegment[]> {
    const found: ScannedSegment[] = [];
    for (const name of await fs.readdir(dir)) {
      if (!isSegmentName(name, suffix)) continue;
      const seq = Number(name.slice(0, 16));
      const size = (await fs.stat(join(dir, name))).size;
      found.push({ seq, size, whole: size - (size % recordBytes) });
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /** Take on a segment found by `scan` as sealed, readable to `whole` bytes. */
  adopt(seq: number, whole: number): void {
    this.segments.push(seq);
    this.sealed.set(seq, whole);
  }

  path(seq: number): string {
    return join(this.opts.dir, `${String(seq).padStart(16, '0')}${this.opts.suffix}`);
  }

  /** The segment appends go to now, if one is open. */
  get activeSeq(): number | undefined {
    return this.active?.seq;
  }

  /** The readable end of a segment: its fsynced bytes. */
  end(seq: number): number {
    return this.active?.seq === seq ? this.active.durable : (this.sealed.get(seq) ?? 0);
  }

  /** The size of a sealed segment; undefined for the active one and for unknown ones. */
  sealedEnd(seq: number): number | undefined {
    return this.sealed.get(seq);
  }

  /** Readable bytes from (`seg`, `offset`) to the end of the log. */
  bytesAfter(seg: number, offset: number): number {
    let bytes = 0;
    for (const seq of this.segments) if (seq >= seg) bytes += this.end(seq);
    if (this.segments.includes(seg)) bytes -= offset;
    return Math.max(0, bytes);
  }

  /**
   * Append `bytes` and fsync them; a new segment is begun first when there is none open or the
   * open one is full, numbered after the last one and at least `minSeq`.
   */
  async write(bytes: Buffer, minSeq: number): Promise<void> {
    try {
      if (!this.active || this.active.size >= this.opts.segmentBytes) await this.roll(minSeq);
      const a = this.active!;
      for (let off = 0; off < bytes.length;) {
        const { bytesWritten } = await a.fh.write(bytes, off, bytes.length - off);
        off += bytesWritten;
        a.size += bytesWritten;
      }
      await a.fh.datasync();
      a.durable = a.size;
    } catch (err) {
      await this.seal().catch(() => undefined);
      throw err;
    }
  }

  /** Close the active segment, keeping it readable to its fsynced size. */
  async seal(): Promise<void> {
    const a = this.active;
    if (!a) return;
    this.active = undefined;
    this.sealed.set(a.seq, a.durable);
    await a.fh.close();
  }

  /** Seal the active segment and begin the next; its folder entry is fsynced before use. */
  private async roll(minSeq: number): Promise<void> {
    await this.seal();
    if (!this.dirDurable) {
      await fs.mkdir(this.opts.dir, { recursive: true });
      await fsyncDir(dirname(this.opts.dir));
      this.dirDurable = true;
    }
    const seq = Math.max((this.segments.at(-1) ?? -1) + 1, minSeq);
    const fh = await fs.open(
      this.path(seq),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND,
      0o644,
    );
    this.segments.push(seq);
    this.active = { seq, fh, size: 0, durable: 0 };
    await fsyncDir(this.opts.dir);
  }

  /*
   * The removals below change the log's state before their first await, so a caller deciding
   * several of them at once sees a consistent log; the files go afterwards.
   */

  /** Delete the first segment (closing it when it is the active one). */
  removeFirst(): Promise<void> {
    const seq = this.segments.shift();
    return seq === undefined ? Promise.resolve() : this.drop(seq);
  }

  /** Delete the last segment (closing it when it is the active one). */
  removeLast(): Promise<void> {
    const seq = this.segments.pop();
    return seq === undefined ? Promise.resolve() : this.drop(seq);
  }

  /** Delete every segment numbered below `seq`. */
  async removeBefore(seq: number): Promise<void> {
    while (this.segments.length && this.segments[0]! < seq) await this.removeFirst();
  }

  private async drop(seq: number): Promise<void> {
    const a = this.active?.seq === seq ? this.active : undefined;
    if (a) this.active = undefined;
    this.sealed.delete(seq);
    await a?.fh.close();
    await fs.rm(this.path(seq), { force: true });
  }

  /** Read `len` bytes of segment `seq` from `offset` into `buf`; bytes past the file's end read as zeros. */
  async read(seq: number, buf: Buffer, len: number, offset: number): Promise<void> {
    const fh = await fs.open(this.path(seq), 'r');
    try {
      await readExactly(fh, buf, len, offset);
    } finally {
      await fh.close();
    }
  }
}

function isSegmentName(name: string, suffix: string): boolean {
  return name.length === 16 + suffix.length && name.endsWith(suffix) && /^\d{16}$/.test(name.slice(0, 16));
}

async function readExactly(fh: FileHandle, buf: Buffer, len: number, position: number): Promise<void> {
  for (let off = 0; off < len;) {
    const { bytesRead } = await fh.read(buf, off, len - off, position + off);
    if (bytesRead === 0) {
      buf.fill(0, off, len);
      return;
    }
    off += bytesRead;
  }
}
