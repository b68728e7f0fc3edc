/**
 * Published counters that survive a crash. A counter is published only up to a value already
 * on disk as "reserved": a start after a kill resumes at the reservation when it is above the
 * saved count, so the first counter published after the start is never below the last one
 * published before it. Counts made between the last save and the kill are not lost either: the
 * reservation stands for them (it may stand for a little more, never less).
 *
 * A reservation reaches ahead of the counter by what the counter grew per second since the
 * last one (measured over at least `aheadMs` / 2), times `aheadMs`, and at least `minAhead`
 * units, so that with saves every few seconds a reading rarely has to wait for a write. A crash
 * costs at most that lead: the counter resumes up to `aheadMs` worth of growth (or `minAhead`,
 * or twice the growth since the last reservation, whichever is least but not below `minAhead`)
 * above what was counted.
 */
export interface ReservationOptions {
  /** host clock, ms */
  now: () => number;
  /** how far ahead, in time at the current rate (default 10 s) */
  aheadMs?: number;
  /** the least lead, in counter units (default 1) */
  minAhead?: number;
}

interface Entry {
  reserved?: number;
  /** counter value and host time of the last raise: the rate the next lead is sized by */
  base?: { value: number; ms: number };
}

const DEFAULT_AHEAD_MS = 10_000;

export class CounterReservations {
  private readonly bySid = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly aheadMs: number;
  private readonly minAhead: number;

  constructor(options: ReservationOptions) {
    this.now = options.now;
    this.aheadMs = options.aheadMs ?? DEFAULT_AHEAD_MS;
    this.minAhead = options.minAhead ?? 1;
  }

  /** A reservation read back from disk. */
  restore(sid: string, reserved: number | undefined): void {
    this.bySid.set(sid, { reserved });
  }

  reserved(sid: string): number | undefined {
    return this.bySid.get(sid)?.reserved;
  }

  /** May `value` be published now: is it within what is reserved on disk? */
  covers(sid: string, value: number): boolean {
    const r = this.bySid.get(sid)?.reserved;
    return r !== undefined && value <= r;
  }

  /** Reserve ahead of `value`; false when the reservation already reaches far enough. */
  raise(sid: string, value: number): boolean {
    const e = this.bySid.get(sid) ?? {};
    this.bySid.set(sid, e);
    const ms = this.now();
    // Over at least half a lead's time: a burst (a backlog read at once) is not a rate to keep up.
    const rate = e.base ? Math.max(0, value - e.base.value) / Math.max(ms - e.base.ms, this.aheadMs / 2) : 0;
    const target = value + Math.max(this.minAhead, rate * this.aheadMs);
    e.base = { value, ms };
    // Leave a reservation alone while it still holds more than half a lead: fewer writes.
    if (e.reserved !== undefined && e.reserved >= value + (target - value) / 2) return false;
    e.reserved = Math.max(e.reserved ?? 0, roundUp(target));
    return true;
  }

  /** After a clean stop every published value is within the saved count: nothing to reserve. True when something was. */
  release(): boolean {
    let any = false;
    for (const e of this.bySid.values()) {
      if (e.reserved !== undefined) any = true;
      e.reserved = undefined;
    }
    return any;
  }
}

/** Up to the next thousandth, the finest step a counter is published in. */
function roundUp(v: number): number {
  return Math.ceil(v * 1000 - 1e-6) / 1000;
}
