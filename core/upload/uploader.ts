import { setMaxListeners } from 'node:events';
import { Fifo } from '../util/fifo';
import { backgroundClock, type Clock } from '../util/clock';
import type { PostOutcome } from './client';
import { downsampleIndices, FLM_FILTERS, type DownsampleFilter } from './filters';
import type { Batch, UploadQueue } from './queue';
import { backoffDelay, type BackoffOptions } from '../link/backoff';
import type { Reading } from './reading';

/** What the uploader needs of a client: UploadClient, or a stand-in in tests. */
export interface MeasurementPoster {
  postMeasurements(sid: string, readings: readonly Reading[], signal?: AbortSignal): Promise<PostOutcome>;
  setKey(key: string): void;
}

/**
 * Retries double from 5 s up to 300 s with "equal jitter", half fixed and half random: the fixed
 * half keeps the schedule growing, the random half keeps many devices (or sensors) from
 * retrying in step after an outage.
 */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 5_000, maxMs: 300_000, factor: 2, jitter: 0.5 };
export const DEFAULT_INTERVAL_MS = 300_000;
export const DEFAULT_BATCH_SIZE = 1000;

export interface UploaderOptions {
  queue: UploadQueue;
  client: MeasurementPoster;
  /** a round over every sensor this often, ms (fluksod: 300 s) */
  intervalMs?: number;
  /**
   * the FLM's downsampling before each POST (docs/protocols/upload.md#downsampling): on by default;
   * false, or other filters
   */
  filters?: boolean | readonly DownsampleFilter[];
  /** most readings in one POST */
  batchSize?: number;
  /** queued readings read at a time when filtering, so a thinned old backlog still fills a POST */
  scanSize?: number;
  /** sensors sent to at the same time */
  concurrency?: number;
  backoff?: Partial<BackoffOptions>;
  clock?: Clock;
  /** uniform in [0, 1): the jitter's draw, 1 being the longest delay */
  random?: () => number;
  onEvent?: (e: UploadEvent) => void;
  /** after every change of `state()` */
  onState?: () => void;
}

export type UploadEvent =
  /** fluksod logs `POST <url>: <code>` for each of these */
  | { kind: 'posted'; sid: string; url: string; status: number; readings: number; dropped: number }
  | {
      kind: 'failed';
      sid: string;
      url: string;
      status?: number;
      error: string;
      excerpt?: string;
      attempt: number;
      retryInMs: number;
    }
  | { kind: 'auth-failed'; sid: string; url: string; status: number; excerpt: string }
  | { kind: 'queue-error'; sid: string; error: string; retryInMs: number };

export type SensorUploadState = 'idle' | 'waiting' | 'sending' | 'backoff' | 'auth-failed';

export interface SensorStatus {
  sid: string;
  state: SensorUploadState;
  /** readings queued on disk */
  depth: number;
  /** ms since the epoch */
  lastSuccess?: number;
  lastError?: { at: number; message: string; status?: number };
  /** failures in a row */
  attempts: number;
  nextAttemptAt?: number;
}

export interface UploaderState {
  sensors: SensorStatus[];
  depth: number;
  lastSuccess?: number;
  lastError?: { sid: string; at: number; message: string; status?: number };
  /** some sensor's uploads were refused with 401/403 and wait for a new key */
  authFailed: boolean;
}

interface Track {
  state: SensorUploadState;
  attempts: number;
  lastSuccess?: number;
  lastError?: { at: number; message: string; status?: number };
  nextAttemptAt?: number;
  timer?: unknown;
  /** asked to run again while it was running */
  again: boolean;
  /** its send loop is running: a failed pointer write goes to it, to back off */
  sending?: boolean;
  /** a pointer write failed and the send loop has not acted on it yet */
  ackError?: Error;
  /** the last failed pointer write: it rejects every acknowledgement it carried, reported once */
  lastAckError?: Error;
}

/**
 * Moves readings from the queue to the server: every `intervalMs` a round over the sensors;
 * a failed sensor retries on its own backoff; when one sensor gets through after failures,
 * every sensor waiting out a backoff is tried at once (the server is back). A 401/403 parks the
 * sensor, data kept, until `setKey`. Readings leave the queue only after a 200/204.
 */
export class Uploader {
  private readonly tracks = new Map<string, Track>();
  private readonly ready = new Fifo<string>();
  private readonly running = new Map<string, Promise<void>>();
  /** pointer writes begun as a sensor's send ended */
  private readonly committing = new Set<Promise<void>>();
  private readonly clock: Clock;
  private readonly backoff: BackoffOptions;
  private readonly filters: readonly DownsampleFilter[] | undefined;
  private readonly batchSize: number;
  private readonly scanSize: number;
  private readonly concurrency: number;
  private readonly intervalMs: number;
  private intervalTimer: unknown;
  private abort = new AbortController();
  private started = false;
  private stopped = false;
  /** bumped by setKey: a 401 to a request signed with an older key says nothing about the new one */
  private keyGen = 0;

  constructor(private readonly opts: UploaderOptions) {
    this.clock = opts.clock ?? backgroundClock;
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.filters =
      opts.filters === false
        ? undefined
        : opts.filters === true || opts.filters === undefined
          ? FLM_FILTERS
          : opts.filters;
    this.batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
    this.scanSize = this.filters ? Math.max(this.batchSize, opts.scanSize ?? this.batchSize * 20) : this.batchSize;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    // Each POST under way listens for the stop; more than 10 at once is no leak.
    setMaxListeners(Math.max(10, this.concurrency + 1), this.abort.signal);
    this.intervalMs = Math.max(1, opts.intervalMs ?? DEFAULT_INTERVAL_MS);
  }

  /** Begin: a round now (whatever a restart or outage left queued goes out), then one per interval. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const tick = () => {
      this.intervalTimer = this.clock.setTimeout(tick, this.intervalMs);
      this.round();
    };
    tick();
  }

  /** A round now, without waiting for the interval: every sensor with data that is not in backoff or refused. */
  round(): void {
    if (this.stopped) return;
    for (const sid of this.opts.queue.sids()) {
      const t = this.track(sid);
      if (t.state === 'idle' && this.opts.queue.depth(sid) > 0) this.schedule(sid);
      else if (t.state === 'sending') t.again = true;
    }
  }

  /** A new device key: refused sensors are tried again at once, and so are those in backoff. */
  setKey(key: string): void {
    this.keyGen++;
    this.opts.client.setKey(key);
    for (const [sid, t] of this.tracks) {
      if (t.state === 'auth-failed' || t.state === 'backoff') this.retryNow(sid);
    }
    this.round();
  }

  private track(sid: string): Track {
    let t = this.tracks.get(sid);
    if (!t) {
      t = { state: 'idle', attempts: 0, again: false };
      this.tracks.set(sid, t);
    }
    return t;
  }

  private retryNow(sid: string): void {
    const t = this.track(sid);
    if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
    t.timer = undefined;
    t.nextAttemptAt = undefined;
    t.state = 'idle';
    this.schedule(sid);
  }

  private schedule(sid: string): void {
    const t = this.track(sid);
    if (!this.started || this.stopped || t.state !== 'idle') return;
    t.state = 'waiting';
    this.ready.push(sid);
    this.pump();
    this.changed();
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.ready.length && !this.stopped) {
      const sid = this.ready.shift()!;
      const run = this.send(sid).finally(() => {
        this.running.delete(sid);
        const t = this.track(sid);
        if (t.state === 'sending') t.state = 'idle';
        if (t.again && t.state === 'idle') {
          t.again = false;
          if (this.opts.queue.depth(sid) > 0) this.schedule(sid);
        }
        this.pump();
        this.changed();
      });
      this.running.set(sid, run);
    }
  }

  /** Drain one sensor until it is caught up or a POST fails. */
  private async send(sid: string): Promise<void> {
    const t = this.track(sid);
    t.state = 'sending';
    t.again = false;
    t.sending = true;
    this.changed();
    try {
      await this.sendBatches(sid, t);
    } finally {
      t.sending = false;
      // A pointer write failed after the loop last looked: say so. Nothing is lost: the
      // readings are sent again after a restart (the server keeps one value per (sid, ts)).
      const err = t.ackError;
      t.ackError = undefined;
      if (err) this.opts.onEvent?.({ kind: 'queue-error', sid, error: err.message, retryInMs: 0 });
      // Caught up, failed or stopped: what was acknowledged goes to disk now, so a crash while
      // the sensor waits for its next round sends nothing again. The next sensor need not wait
      // for that fsync; idle() and stop() do.
      const commit: Promise<void> = this.opts.queue
        .commit(sid)
        .catch((e: Error) => this.ackFailedLater(sid, t, e))
        .finally(() => this.committing.delete(commit));
      this.committing.add(commit);
    }
  }

  /**
   * Acknowledge without waiting for the disk: the queue moves its pointer at once and writes
   * it a few times a second, for many batches at a time (UploadQueueOptions.commitMaxRecords
   * bounds what a crash sends again). A write that fails makes the send loop back off.
   */
  private ackDeferred(sid: string, t: Track, batch: Batch, count?: number): void {
    this.opts.queue.ack(batch, count, { defer: true }).catch((err: Error) => this.ackFailedLater(sid, t, err));
  }

  /** A pointer write failed: the send loop backs off, or, when none runs, it is reported now. */
  private ackFailedLater(sid: string, t: Track, err: Error): void {
    this.ackFailed(t, err);
    if (!t.sending && t.ackError) {
      t.ackError = undefined;
      this.opts.onEvent?.({ kind: 'queue-error', sid, error: err.message, retryInMs: 0 });
    }
  }

  /** A pointer write failed: the send loop acts on it (once per failed write). */
  private ackFailed(t: Track, err: Error): void {
    if (err === t.lastAckError) return;
    t.lastAckError = err;
    t.ackError = err;
  }

  private async sendBatches(sid: string, t: Track): Promise<void> {
    // Every turn acknowledges at least one record, so this ends even if appends keep coming.
    for (let turns = this.opts.queue.depth(sid) + 2; turns > 0 && !this.stopped; turns--) {
      let batch: Batch | undefined;
      let outcome: PostOutcome;
      let count: number;
      let sent: Reading[];
      const gen = this.keyGen;
      try {
        batch = await this.opts.queue.peek(sid, this.scanSize);
        if (!batch) return;
        if (!batch.readings.length) {
          this.ackDeferred(sid, t, batch);
          continue;
        }
        ({ sent, count } = this.choose(batch));
        outcome = await this.opts.client.postMeasurements(sid, sent, this.abort.signal);
        if (this.stopped) return;
        const ackError = t.ackError;
        t.ackError = undefined;
        if (ackError) throw ackError;
        if (outcome.kind === 'ok') this.ackDeferred(sid, t, batch, count);
      } catch (err) {
        if (this.stopped) return;
        t.ackError = undefined; // this report covers it
        const retryInMs = this.fail(sid, (err as Error).message);
        this.opts.onEvent?.({ kind: 'queue-error', sid, error: (err as Error).message, retryInMs });
        return;
      }
      if (outcome.kind === 'ok') {
        const recovered = t.attempts > 0;
        t.attempts = 0;
        t.lastSuccess = this.clock.now();
        this.opts.onEvent?.({
          kind: 'posted',
          sid,
          url: outcome.url,
          status: outcome.status,
          readings: sent.length,
          dropped: count - sent.length,
        });
        if (recovered) this.wakeBackoffs();
        this.changed();
      } else if (outcome.kind === 'auth-failed' && gen !== this.keyGen) {
        t.again = true;
        return;
      } else if (outcome.kind === 'auth-failed') {
        t.state = 'auth-failed';
        t.lastError = {
          at: this.clock.now(),
          message: `authentication failed (${outcome.status})${outcome.excerpt ? `: ${outcome.excerpt}` : ''}`,
          status: outcome.status,
        };
        this.opts.onEvent?.({
          kind: 'auth-failed',
          sid,
          url: outcome.url,
          status: outcome.status,
          excerpt: outcome.excerpt,
        });
        return;
      } else {
        const message = outcome.excerpt ? `${outcome.error}: ${outcome.excerpt}` : outcome.error;
        const retryInMs = this.fail(sid, message, outcome.status);
        this.opts.onEvent?.({
          kind: 'failed',
          sid,
          url: outcome.url,
          status: outcome.status,
          error: outcome.error,
          excerpt: outcome.excerpt,
          attempt: t.attempts,
          retryInMs,
        });
        return;
      }
    }
  }

  /**
   * What of a batch goes in the POST. With filters, the batch is thinned as fluksod thins its
   * buffer before a send; when more than a POST's worth survives, only the readings up to the
   * last one sent are acknowledged, and the rest is read again next time.
   */
  private choose(batch: Batch): { sent: Reading[]; count: number } {
    const rs = batch.readings;
    if (!this.filters) {
      const n = Math.min(rs.length, this.batchSize);
      return { sent: n === rs.length ? rs : rs.slice(0, n), count: n };
    }
    let kept = downsampleIndices(
      rs.map((r) => r[0]),
      Math.floor(this.clock.now() / 1000),
      this.filters,
    );
    let count = rs.length;
    if (kept.length > this.batchSize) {
      kept = kept.slice(0, this.batchSize);
      count = kept[kept.length - 1]! + 1;
    }
    return { sent: kept.map((i) => rs[i]!), count };
  }

  private fail(sid: string, message: string, status?: number): number {
    const t = this.track(sid);
    t.attempts++;
    const now = this.clock.now();
    t.lastError = { at: now, message, ...(status !== undefined ? { status } : {}) };
    const delay = backoffDelay(t.attempts - 1, this.backoff, 1 - (this.opts.random ?? Math.random)());
    t.state = 'backoff';
    t.nextAttemptAt = now + delay;
    t.timer = this.clock.setTimeout(() => {
      t.timer = undefined;
      t.nextAttemptAt = undefined;
      if (t.state === 'backoff') {
        t.state = 'idle';
        this.schedule(sid);
      }
    }, delay);
    return delay;
  }

  private wakeBackoffs(): void {
    for (const [sid, t] of this.tracks) if (t.state === 'backoff') this.retryNow(sid);
  }

  private changed(): void {
    this.opts.onState?.();
  }

  state(): UploaderState {
    const sensors: SensorStatus[] = [];
    let depth = 0;
    let lastSuccess: number | undefined;
    let lastError: UploaderState['lastError'];
    const sids = new Set([...this.opts.queue.sids(), ...this.tracks.keys()]);
    for (const sid of [...sids].sort()) {
      const t = this.tracks.get(sid) ?? { state: 'idle' as const, attempts: 0, again: false };
      const d = this.opts.queue.depth(sid);
      depth += d;
      const s: SensorStatus = { sid, state: t.state, depth: d, attempts: t.attempts };
      if (t.lastSuccess !== undefined) {
        s.lastSuccess = t.lastSuccess;
        if (lastSuccess === undefined || t.lastSuccess > lastSuccess) lastSuccess = t.lastSuccess;
      }
      if (t.lastError) {
        s.lastError = { ...t.lastError };
        if (!lastError || t.lastError.at >= lastError.at) lastError = { sid, ...t.lastError };
      }
      if (t.nextAttemptAt !== undefined) s.nextAttemptAt = t.nextAttemptAt;
      sensors.push(s);
    }
    return {
      sensors,
      depth,
      authFailed: sensors.some((s) => s.state === 'auth-failed'),
      ...(lastSuccess !== undefined ? { lastSuccess } : {}),
      ...(lastError ? { lastError } : {}),
    };
  }

  /** Resolves once no sensor is being sent or waits to be, and what they acknowledged is on disk (tests, and an orderly stop). */
  async idle(): Promise<void> {
    for (
      let i = 0;
      i < 10_000 && (this.running.size || (this.ready.length && !this.stopped) || this.committing.size);
      i++
    ) {
      await Promise.all([...this.running.values(), ...this.committing]);
    }
  }

  /** Stop the rounds and retries, cut the POSTs under way (their readings stay queued), wait for them to end. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.intervalTimer !== undefined) this.clock.clearTimeout(this.intervalTimer);
    for (const t of this.tracks.values()) if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
    this.ready.drain();
    this.abort.abort();
    await Promise.all([...this.running.values()]);
    await Promise.all([...this.committing]);
  }
}
