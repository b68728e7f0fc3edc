import { backgroundClock, type Clock } from '../../util/clock';
import { classifyDbError, type DbError } from './errors';
import { mergeSensor, sameSensor, type ReadingRow, type SensorRow } from './rows';
import {
  ensureSchema,
  insertReadingsSql,
  readingValues,
  sensorValues,
  upsertSensorsSql,
  type TableNames,
} from './schema';
import type { SqlRunner } from './db';
import { backoffDelay } from '../../link/backoff';
import type { MysqlSpool } from './spool';

export interface MysqlWriterOptions {
  db: SqlRunner;
  tables: TableNames;
  spool: MysqlSpool;
  /** the database's name, for error messages */
  database?: string;
  /** rows per INSERT when the spool is drained */
  batchSize: number;
  /** rows waiting in memory for the database; past this, new batches go to the spool */
  maxQueuedRows?: number;
  /** the wait between attempts after a failure doubles from min to max */
  backoff?: { minMs: number; maxMs: number };
  clock?: Clock;
  onEvent?: (e: WriterEvent) => void;
}

export type WriterEvent =
  /** the tables were checked (and created when missing): rows go to the database */
  | { kind: 'ready'; tables: 'created' | 'found' }
  /** an attempt failed with an error other than the one before; the rows wait in the spool */
  | { kind: 'failed'; error: DbError; retryInMs: number }
  /** the database took the spool's rows again after a failure */
  | { kind: 'recovered'; replayed: number }
  /** counters moved (rows written or spooled): for a status refresh */
  | { kind: 'progress' };

export interface WriterState {
  /** rows the database took from this writer (replays from the spool included) */
  written: number;
  /** rows in the spool, on disk or on their way */
  spooled: number;
  /** 'spooling' from the first failure until the spool is empty again */
  mode: 'direct' | 'spooling';
  /** the failure of the last attempt; cleared by a success */
  lastError?: DbError;
}

export type WriteOutcome = 'written' | 'spooled';

interface Job {
  rows: readonly ReadingRow[];
  resolve: (o: WriteOutcome) => void;
  reject: (err: Error) => void;
}

const DEFAULT_BACKOFF = { minMs: 500, maxMs: 15_000 };

/**
 * Writes reading batches to MySQL/MariaDB, one statement at a time, and keeps every row it could
 * not write in a durable spool until it can.
 *
 * - `write` resolves once the rows are in the database ('written') or fsynced in the spool
 *   ('spooled'): either way they are safe. It rejects only when the spool cannot be written.
 * - While the database is fine, batches go straight to it (a bounded queue in memory between).
 *   The first failure sends the batch in hand and everything queued to the spool, in order, and
 *   from then on new batches follow them there; a loop retries with backoff and drains the spool
 *   oldest first. Once it is empty, batches go straight to the database again.
 * - Rows are inserted with INSERT IGNORE into a table keyed by (sid, kind, ts): a batch written
 *   again after a lost acknowledgement, or a spool replayed after a crash, adds nothing twice.
 * - Sensors noted with `noteSensors` are upserted before the next readings.
 */
export class MysqlWriter {
  private readonly queue: Job[] = [];
  private queuedRows = 0;
  private inFlight: Job | undefined;
  private mode: 'direct' | 'spooling';
  private schemaReady = false;
  private written = 0;
  private lastError: DbError | undefined;
  private attempt = 0;
  private readonly sensors = new Map<string, SensorRow>();
  private readonly dirtySensors = new Set<string>();
  private closing = false;
  private wake: (() => void) | undefined;
  private interrupt: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private replayed = 0;
  private readonly clock: Clock;
  private readonly backoff: { minMs: number; maxMs: number };
  private readonly maxQueuedRows: number;
  private readonly insertSql: string;
  private readonly upsertSql: string;

  constructor(private readonly opts: MysqlWriterOptions) {
    this.clock = opts.clock ?? backgroundClock;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.maxQueuedRows = opts.maxQueuedRows ?? Math.max(2000, 4 * opts.batchSize);
    this.insertSql = insertReadingsSql(opts.tables);
    this.upsertSql = upsertSensorsSql(opts.tables);
    // A spool left by the last run is drained before anything new is written.
    this.mode = opts.spool.empty ? 'direct' : 'spooling';
  }

  /** Begin: check the tables, write the sensors, drain a spool left from before. */
  start(): void {
    this.loop ??= this.run();
  }

  state(): WriterState {
    return {
      written: this.written,
      spooled: this.opts.spool.depth() + this.opts.spool.pending,
      mode: this.mode,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  write(rows: readonly ReadingRow[]): Promise<WriteOutcome> {
    if (this.closing) return Promise.reject(new Error('the MySQL writer is closed'));
    if (rows.length === 0) return Promise.resolve('written');
    return new Promise<WriteOutcome>((resolve, reject) => {
      const job: Job = { rows, resolve, reject };
      if (this.mode === 'direct' && this.queuedRows + rows.length > this.maxQueuedRows) this.toSpool();
      if (this.mode === 'spooling') {
        this.spool([job]);
        return this.poke();
      }
      this.queue.push(job);
      this.queuedRows += rows.length;
      this.poke();
    });
  }

  /** Sensors to have in the sensors table; only changes are written. */
  noteSensors(rows: readonly SensorRow[]): void {
    for (const row of rows) {
      const before = this.sensors.get(row.sid);
      const next = mergeSensor(before, row);
      if (sameSensor(before, next)) continue;
      this.sensors.set(row.sid, next);
      this.dirtySensors.add(row.sid);
    }
    if (this.dirtySensors.size) this.poke();
  }

  /**
   * Stop: batches waiting in memory are still written (a failure sends them to the spool), for
   * at most `boundMs`; what is left then goes to the spool. The spool is not drained on the way
   * out. Then the spool and the pool are closed.
   */
  async close(boundMs = 8000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.poke();
    this.interrupt?.();
    if (this.loop) {
      let timer: unknown;
      await Promise.race([this.loop, new Promise<void>((r) => (timer = this.clock.setTimeout(r, boundMs)))]);
      this.clock.clearTimeout(timer);
    }
    if (this.queue.length) this.toSpool();
    await this.opts.spool.close().catch(() => undefined);
    await this.opts.db.end().catch(() => undefined);
  }

  /** Wake the loop when it waits for work (never cuts a backoff short). */
  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.interrupt = undefined;
        resolve();
      }, ms);
      this.interrupt = () => {
        this.clock.clearTimeout(timer);
        resolve();
      };
    });
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Jobs into the spool, in order; each resolves 'spooled' once fsynced. */
  private spool(jobs: Job[]): void {
    for (const job of jobs) {
      this.opts.spool.append(job.rows).then(() => {
        job.resolve('spooled');
        this.emit({ kind: 'progress' });
      }, job.reject);
    }
  }

  /** From now on batches go to the spool; the queue goes there first, so the order holds. */
  private toSpool(): void {
    this.mode = 'spooling';
    const jobs = this.queue.splice(0);
    this.queuedRows = 0;
    this.spool(jobs);
  }

  private emit(e: WriterEvent): void {
    this.opts.onEvent?.(e);
  }

  private async run(): Promise<void> {
    for (;;) {
      // Closing: finish the batches in memory, but leave the spool for the next start.
      if (this.closing && (this.mode === 'spooling' || this.queue.length === 0)) return;
      try {
        if (await this.step()) continue;
        if (this.closing) return;
        await this.idle();
      } catch (err) {
        const retryInMs = this.failed(err);
        if (this.closing) return;
        await this.sleep(retryInMs);
      }
    }
  }

  /** One unit of work; false when there was none. */
  private async step(): Promise<boolean> {
    const db = this.opts.db;
    if (!this.schemaReady) {
      const tables = await ensureSchema(db, this.opts.tables);
      this.schemaReady = true;
      this.emit({ kind: 'ready', tables });
    }
    if (this.dirtySensors.size) {
      const batch = [...this.dirtySensors].map((sid) => this.sensors.get(sid)!);
      await db.query(this.upsertSql, [sensorValues(batch)]);
      // A sensor that changed again while this was written stays dirty.
      for (const s of batch) if (this.sensors.get(s.sid) === s) this.dirtySensors.delete(s.sid);
    }
    if (this.mode === 'spooling') return this.drainStep();
    const job = this.queue.shift();
    if (!job) {
      this.succeeded();
      return false;
    }
    this.queuedRows -= job.rows.length;
    this.inFlight = job;
    await db.query(this.insertSql, [readingValues(job.rows)]);
    this.inFlight = undefined;
    this.written += job.rows.length;
    this.succeeded();
    job.resolve('written');
    this.emit({ kind: 'progress' });
    return true;
  }

  private async drainStep(): Promise<boolean> {
    const spool = this.opts.spool;
    const batch = await spool.peek(this.opts.batchSize);
    if (batch) {
      if (batch.rows.length) await this.opts.db.query(this.insertSql, [readingValues(batch.rows)]);
      await spool.ack(batch);
      this.written += batch.rows.length;
      this.replayed += batch.rows.length;
      this.succeeded();
      this.emit({ kind: 'progress' });
      return true;
    }
    if (spool.pending > 0) {
      // Rows on their way to disk: wait for the write, then read them.
      await spool.settled();
      return true;
    }
    this.mode = 'direct';
    this.succeeded();
    this.emit({ kind: 'recovered', replayed: this.replayed });
    this.replayed = 0;
    return this.queue.length > 0;
  }

  private succeeded(): void {
    this.attempt = 0;
    this.lastError = undefined;
  }

  /** Spool what was in hand, note the error, and say how long to wait. */
  private failed(err: unknown): number {
    const error = classifyDbError(err, this.opts.database);
    if (error.kind === 'schema') this.schemaReady = false;
    const job = this.inFlight;
    this.inFlight = undefined;
    this.mode = 'spooling';
    this.spool([...(job ? [job] : []), ...this.queue.splice(0)]);
    this.queuedRows = 0;
    const retryInMs = backoffDelay(this.attempt, {
      initialMs: this.backoff.minMs,
      maxMs: this.backoff.maxMs,
      jitter: 0,
    });
    this.attempt++;
    const changed = this.lastError?.message !== error.message;
    this.lastError = error;
    if (changed) this.emit({ kind: 'failed', error, retryInMs });
    this.emit({ kind: 'progress' });
    return retryInMs;
  }
}
