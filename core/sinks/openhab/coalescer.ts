import { Backoff, type BackoffOptions } from '../../link/backoff';
import { systemClock, type Clock } from '../../util/clock';
import type { PutOutcome } from './rest-client';

export type Put = (item: string, state: string, signal: AbortSignal) => Promise<PutOutcome>;

export type CoalescerEvent =
  | { kind: 'sent'; item: string; state: string }
  /** the first 404 of an item (again after it once succeeded) */
  | { kind: 'not-found'; item: string }
  /** the first refusal (400, …) of an item's state, until one succeeds */
  | { kind: 'refused'; item: string; state: string; status: number; excerpt: string }
  /** openHAB refused the token: sending stops, one probe every authRetryMs */
  | { kind: 'auth-failed'; item: string; status: number }
  /** network or server trouble: everything waits `delayMs` */
  | { kind: 'retrying'; item: string; error: string; delayMs: number }
  /** a request went through after trouble */
  | { kind: 'recovered' };

export interface CoalescerOptions {
  put: Put;
  clock?: Clock;
  /** delays after network and 5xx errors (default 1 s doubling to 60 s, 25 % jitter) */
  backoff?: BackoffOptions;
  /** requests under way at once, over all items (default 4) */
  maxInFlight?: number;
  /** after a 404, values for that item are dropped this long before it is tried again, ms (default 60 s) */
  missingRecheckMs?: number;
  /** after a 401/403, one probe this often, ms (default 5 min) */
  authRetryMs?: number;
  onEvent?: (e: CoalescerEvent) => void;
}

export interface CoalescerStats {
  sent: number;
  /** values replaced by a newer one before they were sent */
  superseded: number;
  /** 404s, and values dropped while their item is known to be missing */
  notFound: number;
  refused: number;
  retries: number;
  pending: number;
  inFlight: number;
  mode: 'ok' | 'backoff' | 'auth-failed';
  missing: string[];
}

/**
 * State updates to openHAB, one item at a time: at most one request per item under way, and
 * while it is, newer values replace each other, so the item gets the newest one next and no
 * queue grows while openHAB is slow or away. Network and server errors pause every item with
 * a capped, jittered backoff; a refused token pauses everything but a rare probe; an unknown
 * item is reported once and not tried again for a while.
 */
export class StateCoalescer {
  private readonly pending = new Map<string, string>();
  private readonly inFlight = new Set<string>();
  private readonly missingUntil = new Map<string, number>();
  private readonly reported = new Set<string>();
  private readonly controllers = new Set<AbortController>();
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly maxInFlight: number;
  private mode: CoalescerStats['mode'] = 'ok';
  private timer: unknown;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly counts = { sent: 0, superseded: 0, notFound: 0, refused: 0, retries: 0 };

  constructor(private readonly opts: CoalescerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.25, ...opts.backoff });
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
  }

  get stats(): CoalescerStats {
    const now = this.clock.now();
    return {
      ...this.counts,
      pending: this.pending.size,
      inFlight: this.inFlight.size,
      mode: this.mode,
      missing: [...this.missingUntil].filter(([, until]) => until > now).map(([item]) => item),
    };
  }

  /** The newest state of an item; sent when the item is free and openHAB reachable. */
  offer(item: string, state: string): void {
    if (this.closed) return;
    const until = this.missingUntil.get(item);
    if (until !== undefined) {
      if (this.clock.now() < until) {
        this.counts.notFound++;
        return;
      }
      this.missingUntil.delete(item);
    }
    if (this.pending.has(item)) this.counts.superseded++;
    this.pending.set(item, state);
    this.pump();
  }

  /** Resolves once nothing is pending or under way (or the coalescer is paused or closed). */
  settled(): Promise<void> {
    if (this.isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    for (const c of this.controllers) c.abort();
    this.pending.clear();
    this.wakeIdle();
  }

  private isSettled(): boolean {
    return this.closed || (this.inFlight.size === 0 && (this.pending.size === 0 || this.mode !== 'ok'));
  }

  private wakeIdle(): void {
    if (!this.isSettled()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    if (this.closed || this.mode !== 'ok') return this.wakeIdle();
    for (const [item, state] of this.pending) {
      if (this.inFlight.size >= this.maxInFlight) break;
      if (this.inFlight.has(item)) continue;
      this.pending.delete(item);
      this.send(item, state);
    }
    this.wakeIdle();
  }

  private send(item: string, state: string): void {
    this.inFlight.add(item);
    const ctl = new AbortController();
    this.controllers.add(ctl);
    this.opts
      .put(item, state, ctl.signal)
      .catch((err: unknown): PutOutcome => ({ kind: 'retry', error: err instanceof Error ? err.message : String(err) }))
      .then((outcome) => {
        this.controllers.delete(ctl);
        this.inFlight.delete(item);
        if (!this.closed) this.settle(item, state, outcome);
        this.pump();
      });
  }

  private settle(item: string, state: string, o: PutOutcome): void {
    const emit = (e: CoalescerEvent) => this.opts.onEvent?.(e);
    switch (o.kind) {
      case 'ok':
        this.counts.sent++;
        this.reported.delete(item);
        this.backoff.reset();
        emit({ kind: 'sent', item, state });
        if (this.mode !== 'ok') {
          this.mode = 'ok';
          this.clock.clearTimeout(this.timer);
          emit({ kind: 'recovered' });
        }
        return;
      case 'not-found':
        this.counts.notFound++;
        this.missingUntil.set(item, this.clock.now() + (this.opts.missingRecheckMs ?? 60_000));
        this.pending.delete(item);
        if (!this.reported.has(item)) {
          this.reported.add(item);
          emit({ kind: 'not-found', item });
        }
        return;
      case 'refused':
        this.counts.refused++;
        if (!this.reported.has(item)) {
          this.reported.add(item);
          emit({ kind: 'refused', item, state, status: o.status, excerpt: o.excerpt });
        }
        return;
      case 'auth-failed':
        if (!this.pending.has(item)) this.pending.set(item, state);
        if (this.mode === 'auth-failed' && this.timer !== undefined) return;
        const first = this.mode !== 'auth-failed';
        this.pause('auth-failed', this.opts.authRetryMs ?? 300_000);
        if (first) emit({ kind: 'auth-failed', item, status: o.status });
        return;
      case 'retry': {
        this.counts.retries++;
        if (!this.pending.has(item)) this.pending.set(item, state);
        if (this.mode !== 'ok' && this.timer !== undefined) return; // already waiting: one backoff per outage step
        const delayMs = this.backoff.next();
        this.pause(this.mode === 'auth-failed' ? 'auth-failed' : 'backoff', delayMs);
        emit({ kind: 'retrying', item, error: o.status ? `HTTP ${o.status}` : o.error, delayMs });
        return;
      }
    }
  }

  /** Hold every item for `ms`, then let one request through to see whether openHAB is back. */
  private pause(mode: 'backoff' | 'auth-failed', ms: number): void {
    this.mode = mode;
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.probe();
    }, ms);
    this.wakeIdle();
  }

  private probe(): void {
    if (this.closed) return;
    const first = [...this.pending].find(([item]) => !this.inFlight.has(item));
    if (!first) {
      // Nothing to try with: the next value decides.
      this.mode = 'ok';
      return this.wakeIdle();
    }
    this.pending.delete(first[0]);
    this.send(first[0], first[1]);
  }
}
