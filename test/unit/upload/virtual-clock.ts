import type { Clock } from '../../../core/util/clock';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * Simulated time for the uploader: timers fire only when the test advances the clock, in
 * order, and the test's `settle` runs after each one so real I/O (disk, loopback HTTP) it
 * started can finish before time moves on. An hour of backoff takes as long as its requests.
 */
export class VirtualClock implements Clock {
  private timers: Timer[] = [];
  private nextId = 1;
  /** timers fired so far */
  fired = 0;

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** When the next timer is due, if any. */
  get nextAt(): number | undefined {
    return this.timers.reduce<number | undefined>((m, x) => (m === undefined || x.at < m ? x.at : m), undefined);
  }

  /** Move time forward by `ms`, firing the timers due on the way (at most `limit` of them). */
  async advance(ms: number, settle: () => Promise<void> = async () => undefined, limit = 100_000): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (let n = 0; n < limit; n++) {
      let next: Timer | undefined;
      for (const x of this.timers) if (x.at <= end && (!next || x.at < next.at || (x.at === next.at && x.id < next.id))) next = x;
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at);
      this.fired++;
      next.fn();
      await settle();
    }
    this.t = end;
  }
}
