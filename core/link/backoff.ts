/**
 * Reconnect delays: exponential, capped, with jitter so that many readers that lost the same dongle
 * or ser2net host do not all come back in the same millisecond (docs/protocols/p1.md#sanity-rules).
 */
export interface BackoffOptions {
  /** first delay, ms (default 1000) */
  initialMs?: number;
  /** no delay is ever longer (default 30000) */
  maxMs?: number;
  /** growth per attempt (default 2) */
  factor?: number;
  /** fraction of each delay that is random, 0–1 (default 0.25): a delay lies in [(1−j)·d, d] */
  jitter?: number;
  /** a source of uniform numbers in [0, 1) (default Math.random) */
  random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first retry), jitter applied with `r` in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, r = 0): number {
  const initial = Math.max(1, options.initialMs ?? 1000);
  const max = Math.max(initial, options.maxMs ?? 30_000);
  const factor = Math.max(1, options.factor ?? 2);
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.25));
  // Stop growing once at the cap, so a long outage does not overflow to Infinity.
  const base = Math.min(max, initial * factor ** Math.min(Math.max(0, attempt), 64));
  return Math.round(base * (1 - jitter * Math.min(Math.max(r, 0), 1)));
}

export class Backoff {
  private n = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  /** Retries so far since the last reset. */
  get attempt(): number {
    return this.n;
  }

  /** The next delay; each call counts one more retry. */
  next(): number {
    return backoffDelay(this.n++, this.options, this.random());
  }

  /** The connection proved good: the next failure starts from the first delay again. */
  reset(): void {
    this.n = 0;
  }
}
