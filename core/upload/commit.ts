import { z } from 'zod';
import { readStateFile, writeStateFile } from '../util/state-file';
import type { Clock } from '../util/clock';
import { RECORD_BYTES } from './record';

export const COMMIT_FILE = 'commit.json';

const commitSchema = z
  .object({
    version: z.literal(1),
    /** the segment reading resumes in; segments before it are fully acknowledged */
    seg: z.number().int().min(0),
    /** bytes into `seg` already acknowledged, a whole number of records */
    offset: z.number().int().min(0).multipleOf(RECORD_BYTES),
    /** the newest acknowledged timestamp; nothing at or before it is sent again */
    ts: z.number().int().nullable(),
  })
  .strict();

/** Where a sensor's queue resumes: everything before it the server took. */
export type Commit = Omit<z.infer<typeof commitSchema>, 'version'>;

/**
 * A sensor's pointer as its file holds it, a fresh one when there is none, or where the file
 * went when it was unreadable (moved aside: everything is sent again rather than lost).
 */
export async function readCommit(path: string, firstSeg: number): Promise<Commit | { aside: string }> {
  const r = await readStateFile(path, (json) => commitSchema.parse(json));
  if (r.kind === 'missing') return { seg: firstSeg, offset: 0, ts: null };
  if (r.kind === 'damaged') return { aside: r.aside };
  return { seg: r.value.seg, offset: r.value.offset, ts: r.value.ts };
}

export interface CommitPolicy {
  /** a deferred acknowledgement is written at most this long after it was made, ms */
  intervalMs: number;
  /** or as soon as this many acknowledged records wait for a write */
  maxRecords: number;
  clock: Clock;
}

interface Waiter {
  gen: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Writes one sensor's commit pointer (atomically: temp file, fsync, rename, folder fsync) and
 * lets many acknowledgements share one write.
 *
 * - `move` changes the pointer in memory at once; its promise resolves once a write that covers
 *   it is on disk. A write under way is never joined: moves made meanwhile go in the next one.
 * - An urgent move is written as soon as no write is under way. A deferred one waits up to
 *   `intervalMs`, or until `maxRecords` acknowledged records wait, so a fast drain writes the
 *   pointer a few times a second instead of once a batch.
 * - `throttle` holds the reader back while `maxRecords` wait beyond the write under way. With
 *   every batch read through it, what a crash can make the queue send again is bounded (see
 *   `UploadQueueOptions.commitMaxRecords`).
 * - `afterWrite` runs inside the write, so what it removes is behind a pointer on disk.
 *
 * A pointer on disk is always one the server acknowledged, older or equal to the one in memory:
 * a crash may send some readings again (the server keeps one value per (sid, ts)), never skip one.
 */
export class CommitWriter {
  private target: Commit;
  private gen = 0;
  private durableGen = 0;
  /** the newest move a write was begun for, whether or not it got to disk */
  private startedGen = 0;
  /** acknowledged records no write (done or under way) covers */
  private waiting = 0;
  private urgent = false;
  private timer: unknown;
  private writing: Promise<void> | undefined;
  private lastError: Error | undefined;
  private waiters: Waiter[] = [];

  constructor(
    private readonly path: string,
    initial: Commit,
    private readonly policy: CommitPolicy,
    private readonly afterWrite: (c: Commit) => Promise<void>,
  ) {
    this.target = initial;
  }

  /** The pointer in memory: where reading resumes. */
  get current(): Commit {
    return this.target;
  }

  move(next: Commit, records: number, defer: boolean): Promise<void> {
    this.target = next;
    const gen = ++this.gen;
    this.waiting += records;
    if (!defer || this.waiting >= this.policy.maxRecords) this.urgent = true;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
    this.schedule();
    return done;
  }

  private schedule(): void {
    if (this.writing || this.startedGen === this.gen) return;
    if (this.urgent) {
      this.begin();
      return;
    }
    this.timer ??= this.policy.clock.setTimeout(() => {
      this.timer = undefined;
      this.urgent = true;
      this.schedule();
    }, this.policy.intervalMs);
  }

  /** Write the pointer as it is now; moves made while it runs wait for the next write. */
  private begin(): Promise<void> {
    if (this.timer !== undefined) this.policy.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const gen = this.gen;
    const c = this.target;
    const records = this.waiting;
    this.startedGen = gen;
    this.waiting = 0;
    this.urgent = false;
    const write = (async () => {
      await writeStateFile(this.path, 1, c);
      await this.afterWrite(c);
    })();
    const settled = write.then(
      () => {
        this.durableGen = gen;
        this.lastError = undefined;
        this.settle(gen);
      },
      (err: Error) => {
        // Not on disk: its records wait again, for the next move or flush (not retried on its
        // own, so a broken disk is reported by whoever waits, not hammered in the background).
        this.waiting += records;
        this.lastError = err;
        this.settle(gen, err);
      },
    );
    const end = settled.then(() => {
      this.writing = undefined;
      this.schedule();
    });
    this.writing = end;
    return end;
  }

  private settle(gen: number, err?: Error): void {
    const left: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.gen > gen) left.push(w);
      else if (err) w.reject(err);
      else w.resolve();
    }
    this.waiters = left;
  }

  /** Wait while `maxRecords` acknowledged records wait beyond the write under way; throws when the write for them fails. */
  async throttle(): Promise<void> {
    if (this.waiting < this.policy.maxRecords) return;
    if (this.writing) await this.writing;
    if (this.waiting < this.policy.maxRecords) return;
    // The write before failed: one more try, and its failure is the reader's.
    if (this.writing) await this.writing;
    else await this.begin();
    if (this.waiting >= this.policy.maxRecords && this.lastError) throw this.lastError;
  }

  /** Write whatever is not on disk yet, now; the error when that fails. */
  async flush(): Promise<Error | undefined> {
    let tried = false;
    // Bounded: a write under way is waited for, then at most one more is begun.
    for (let i = 0; i < 8; i++) {
      if (this.writing) {
        await this.writing;
        continue;
      }
      if (this.durableGen === this.gen || tried) break;
      tried = true;
      await this.begin();
    }
    return this.durableGen === this.gen ? undefined : (this.lastError ?? new Error('commit pointer not written'));
  }

  /** Drop the timer (the queue is closing; `flush` first). */
  dispose(): void {
    if (this.timer !== undefined) this.policy.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
