import type { Clock } from '../../core/util/clock';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that only moves when told to; timers fire in time order, ties in the order set. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** timers fired so far */
  fired = 0;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), seq: id, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers not yet fired. */
  get timers(): number {
    return this.pending.size;
  }

  /** When the next timer is due, if any. */
  get nextAt(): number | undefined {
    let at: number | undefined;
    for (const p of this.pending.values()) if (at === undefined || p.at < at) at = p.at;
    return at;
  }

  /** Fire the earliest timer due at or before `until`, moving time to it; false when none is. */
  protected fireNext(until: number): boolean {
    let next: Pending | undefined;
    for (const p of this.pending.values()) {
      if (p.at <= until && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
    }
    if (!next) return false;
    this.pending.delete(next.seq);
    this.t = Math.max(this.t, next.at);
    this.fired++;
    next.fn();
    return true;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way (also ones set meanwhile). */
  advance(ms: number): void {
    const until = this.t + ms;
    while (this.fireNext(until));
    this.t = until;
  }

  protected moveTo(t: number): void {
    this.t = t;
  }
}

/**
 * A ManualClock for tests with real I/O: the test's `settle` runs after each timer, so the disk
 * writes and loopback HTTP it started can finish before time moves on. An hour of backoff takes
 * as long as its requests.
 */
export class VirtualClock extends ManualClock {
  /** Move time forward by `ms`, firing the timers due on the way (at most `limit` of them). */
  override async advance(
    ms: number,
    settle: () => Promise<void> = async () => undefined,
    limit = 100_000,
  ): Promise<void> {
    const end = this.now() + ms;
    await settle();
    for (let n = 0; n < limit && this.fireNext(end); n++) await settle();
    this.moveTo(end);
  }
}
