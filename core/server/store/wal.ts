import { promises as fs, constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir } from '../../util/atomic-file';

/**
 * The server store's write-ahead log: variable-length records in numbered segment files
 * (`<16 digits>.wal`), each `[u32 length][u32 crc32][payload]`.
 *
 * - Group commit: appends made while a write is in flight go out together in the next write,
 *   followed by one fdatasync; every append resolves only after its bytes are on disk, which is
 *   when the server acknowledges (docs/protocols/server.md#durability).
 * - After a restart a new segment is begun; a torn record at the end of an old segment (a kill
 *   in the middle of a write) ends that segment's replay and is never continued.
 * - `prepare`/`switchSegment` begin a new segment and `dropBefore` deletes the older ones once a checkpoint made
 *   their contents durable elsewhere.
 */
export class WriteAheadLog {
  private fh: FileHandle | undefined;
  private seq: number;
  private next: { seq: number; fh: FileHandle } | undefined;
  private readonly retired: FileHandle[] = [];
  private pending: Array<{ buf: Buffer; done: (err?: Error) => void }> = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  /** bytes appended since open, for stats */
  bytes = 0;

  private constructor(
    private readonly dir: string,
    private readonly segments: number[],
  ) {
    this.seq = (segments.at(-1) ?? 0) + 1;
  }

  /** Open the log and read every whole record of the segments numbered `fromSeq` or higher, with its segment. */
  static async open(
    dir: string,
    fromSeq = 0,
  ): Promise<{ wal: WriteAheadLog; records: Array<{ seq: number; data: Buffer }> }> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const segments = (await fs.readdir(dir))
      .map((name) => /^(\d{16})\.wal$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const records: Array<{ seq: number; data: Buffer }> = [];
    for (const seq of segments) {
      if (seq >= fromSeq)
        for (const data of readRecords(await fs.readFile(segmentPath(dir, seq)))) records.push({ seq, data });
    }
    const wal = new WriteAheadLog(dir, segments);
    await wal.begin();
    return { wal, records };
  }

  /** The segment new appends go to. */
  get current(): number {
    return this.seq;
  }

  /** Resolves once the record is on disk. */
  append(payload: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the write-ahead log is closed'));
    const head = Buffer.allocUnsafe(8);
    head.writeUInt32LE(payload.length, 0);
    head.writeUInt32LE(crc32(payload), 4);
    return new Promise((resolve, reject) => {
      this.pending.push({ buf: Buffer.concat([head, payload]), done: (err) => (err ? reject(err) : resolve()) });
      this.writing ??= this.drain();
    });
  }

  /**
   * Begin a new segment in two steps: `prepare` opens the file, `switchSegment` (synchronous, so
   * the caller can swap its own state in the same tick) makes it the one later writes go to and
   * returns its number. Writes already handed to the old segment finish there.
   */
  async prepare(): Promise<void> {
    if (this.next) return;
    const seq = this.seq + 1;
    this.next = { seq, fh: await openSegment(this.dir, seq) };
    await fsyncDir(this.dir);
  }

  switchSegment(): number {
    const next = this.next;
    if (!next) throw new Error('prepare() the next segment first');
    this.next = undefined;
    const old = this.fh;
    this.fh = next.fh;
    this.seq = next.seq;
    this.segments.push(next.seq);
    if (old) this.retired.push(old);
    return this.seq;
  }

  /** Delete the segments numbered below `seq`. */
  async dropBefore(seq: number): Promise<void> {
    await this.idle();
    for (const fh of this.retired.splice(0)) await fh.close();
    while (this.segments.length > 0 && this.segments[0]! < seq) {
      await fs.rm(segmentPath(this.dir, this.segments.shift()!), { force: true });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    for (const fh of [...this.retired.splice(0), this.fh, this.next?.fh]) await fh?.close();
    this.fh = undefined;
    this.next = undefined;
  }

  private async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async begin(): Promise<void> {
    this.fh = await openSegment(this.dir, this.seq);
    this.segments.push(this.seq);
    await fsyncDir(this.dir);
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          const fh = this.fh;
          if (!fh) throw new Error('the write-ahead log is closed');
          const data = Buffer.concat(batch.map((p) => p.buf));
          await fh.write(data);
          await fh.datasync();
          this.bytes += data.length;
          for (const p of batch) p.done();
        } catch (err) {
          for (const p of batch) p.done(err as Error);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}

function openSegment(dir: string, seq: number): Promise<FileHandle> {
  return fs.open(
    segmentPath(dir, seq),
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND,
    0o600,
  );
}

function segmentPath(dir: string, seq: number): string {
  return join(dir, `${String(seq).padStart(16, '0')}.wal`);
}

/** The whole records of one segment, up to the first torn or damaged one. */
function readRecords(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 8 <= data.length) {
    const len = data.readUInt32LE(at);
    const sum = data.readUInt32LE(at + 4);
    if (at + 8 + len > data.length) break;
    const payload = data.subarray(at + 8, at + 8 + len);
    if (crc32(payload) !== sum) break;
    out.push(payload);
    at += 8 + len;
  }
  return out;
}
