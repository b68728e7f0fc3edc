import { Fifo } from '../../util/fifo';

/**
 * One device's publishes, handled one at a time in the order they arrived and at most
 * `perSecond` of them a second. aedes hands over every packet of a socket read at once and
 * reads no more until all of them are done, so holding each one here until it is stored is
 * what pushes back on a device catching up: its TCP window fills, nothing is dropped
 * (docs/protocols/server-bridge.md#backpressure).
 */
export class DeviceLane {
  private tail: Promise<unknown> = Promise.resolve();
  private nextAt = 0;
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private stopped = false;

  constructor(private readonly perSecond: number) {}

  /** Run `work` after everything handed in before it; undefined when the lane was stopped first. */
  run<T>(work: () => Promise<T>): Promise<T | undefined> {
    const next = this.tail.then(async () => {
      if (this.stopped) return undefined;
      await this.pace();
      return this.stopped ? undefined : work();
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Nothing queued runs any more: the connection is gone, or something failed that later ones depend on. */
  stop(): void {
    this.stopped = true;
    // A publish waiting for its turn goes on at once, and finds the lane stopped.
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve();
    }
    this.timers.clear();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private pace(): Promise<void> | undefined {
    if (!(this.perSecond > 0) || !Number.isFinite(this.perSecond)) return undefined;
    const now = Date.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + 1000 / this.perSecond;
    if (at <= now) return undefined;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, at - now);
      this.timers.set(t, resolve);
    });
  }
}

/** A backend call that took longer than the gate allows; the device is treated as after any failure. */
class BackendTimeout extends Error {
  readonly code = 'EBACKENDTIMEOUT';
}

/**
 * At most `max` calls into the backend at a time, over all devices: ten thousand devices
 * reconnecting at once must not open ten thousand queries. Waiters go in arrival order. A call
 * that hangs gives its place up after `timeoutMs`, or a stuck database would stop every login.
 */
export class BackendGate {
  private active = 0;
  private readonly waiting = new Fifo<() => void>();

  constructor(
    private readonly max: number,
    private readonly timeoutMs = Infinity,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!Number.isFinite(this.timeoutMs)) return await work();
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new BackendTimeout(`the store did not answer within ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
      });
      return await Promise.race([work(), late]);
    } finally {
      clearTimeout(timer);
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` never dips below the truth.
      if (next) next();
      else this.active--;
    }
  }

  /** calls running or waiting now */
  get load(): number {
    return this.active + this.waiting.length;
  }
}
