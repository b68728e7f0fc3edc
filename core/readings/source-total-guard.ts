/**
 * Counters a source reports as its own running total, which it can lose: a Kube's movement count
 * (it starts again at 0 when its battery is changed) and the counters flm-in takes from another
 * FLM's broker (that FLM loses them with its data, or is replaced). Published as they came, such a
 * counter would go back, which Home Assistant's `total_increasing` reads as a new meter cycle and
 * TMPO stores as a negative step (docs/protocols/flm-mqtt.md#counters-that-restart).
 *
 * The rules, per sensor, the same as for a P1 register and a board's totals:
 *
 * - A value at or above the last one is published, plus the sensor's offset (0 until the
 *   source restarts once).
 * - A value below it is held, as a P1 register's drop is (p1-totals-guard.ts): nothing is
 *   published until CONFIRMATIONS readings in a row agree (each at or above the one before, all
 *   below the last value). One stray value (a reading from before the last one, delivered late)
 *   is contradicted by the next, which carries on from the last value: nothing is lost or added.
 * - Confirmed, the drop is the source counting again from scratch, as a board's restart is
 *   (counter-guard.ts): the published counter carries on from where it was, counting from the
 *   first held value up, by raising the offset. It never goes back and never jumps by a whole
 *   meter's reading.
 * - The last value and the offset are kept with the counters, so the first reading after a
 *   start is checked the same way. A counter goes out only once a reservation at or above it is
 *   kept too (counter-reservation.ts): after a crash the counter resumes at the reservation when
 *   it is above, so it never comes back lower, as a board's counters do.
 */

import { CounterReservations } from './counter-reservation';
import { CONFIRMATIONS } from './p1-totals-guard';

/** What is kept per sensor: the source's last accepted value, what is added to it, and the reservation. */
export interface SourceTotal {
  last: number;
  offset: number;
  reserved?: number;
}

export interface SourceTotalVerdict {
  /** the counter to publish; undefined while the value is held */
  publish?: number;
  /** why the value is held (said once per episode) */
  reason?: string;
  /** the source restarted its count and the counter carries on (said once) */
  notice?: string;
}

interface Entry {
  last: number;
  offset: number;
  held?: { first: number; value: number; agreed: number };
  /** a reservation read back after a crash: the counter resumes there when it is above */
  resumeAt?: number;
}

const fmt = (v: number): string => String(Math.round(v * 1000) / 1000);

/**
 * Sensors guarded at most: eight FLMs' full tables. A broker flooded with made-up sensor ids
 * cannot grow the state (and the file it is kept in) past this; later ones pass unguarded.
 */
export const MAX_GUARDED = 1024;

export class SourceTotalGuard {
  private readonly bySid = new Map<string, Entry>();
  private readonly reservations: CounterReservations;
  private changed = false;
  private full = false;
  readonly stats = { held: 0, restarts: 0 };

  /** `now`: host clock, ms, which sizes the reservations' lead */
  constructor(saved: Record<string, SourceTotal | undefined> = {}, now: () => number = Date.now) {
    this.reservations = new CounterReservations({ now });
    for (const [sid, t] of Object.entries(saved)) {
      if (!t) continue;
      this.bySid.set(sid, {
        last: t.last,
        offset: t.offset,
        ...(t.reserved !== undefined ? { resumeAt: t.reserved } : {}),
      });
      this.reservations.restore(sid, t.reserved);
    }
  }

  /** True when a sensor's kept state moved since the last snapshot(). */
  get dirty(): boolean {
    return this.changed;
  }

  /** What to keep with the counters, per sensor. */
  snapshot(): Record<string, SourceTotal> {
    this.changed = false;
    const out: Record<string, SourceTotal> = {};
    for (const [sid, e] of this.bySid) {
      const reserved = this.reservations.reserved(sid);
      out[sid] = { last: e.last, offset: e.offset, ...(reserved !== undefined ? { reserved } : {}) };
    }
    return out;
  }

  /**
   * Before `published` of sensor `sid` goes out: true when the state must be saved first, since
   * the reservation on disk does not reach it (it was moved ahead).
   */
  reserve(sid: string, published: number): boolean {
    if (this.reservations.covers(sid, published)) return false;
    this.reservations.raise(sid, published);
    this.changed = true;
    return true;
  }

  /** At a clean stop the saved values hold every published counter: nothing stays reserved. */
  release(): void {
    if (this.reservations.release()) this.changed = true;
  }

  /** One counter value of sensor `sid`; `what` names it in the reason and notice ("Kube 3 movement"). */
  offer(sid: string, value: number, what: string): SourceTotalVerdict {
    if (!Number.isFinite(value)) throw new Error(`${what}: counter ${value} is not a finite number`);
    const e = this.bySid.get(sid);
    if (!e) {
      if (this.bySid.size >= MAX_GUARDED) {
        if (this.full) return { publish: value };
        this.full = true;
        return {
          publish: value,
          notice: `${what}: ${MAX_GUARDED} counters are guarded already; this one and later new ones pass as they come`,
        };
      }
      this.bySid.set(sid, { last: value, offset: 0 });
      this.changed = true;
      return { publish: value };
    }
    if (value >= e.last) {
      if (value !== e.last || e.held) this.changed = true;
      e.last = value;
      e.held = undefined;
      this.resume(e);
      return { publish: e.offset + value };
    }
    this.stats.held++;
    const h = e.held;
    if (h && value >= h.value) {
      h.value = value;
      h.agreed++;
    } else {
      e.held = { first: value, value, agreed: 1 };
    }
    const held = e.held!;
    if (held.agreed >= CONFIRMATIONS) {
      this.stats.restarts++;
      const lastValue = e.last;
      // What went out last (after a crash, the reservation when that is above).
      const before = Math.max(e.offset + e.last, e.resumeAt ?? 0);
      e.offset = before - held.first;
      e.last = value;
      e.resumeAt = undefined;
      e.held = undefined;
      this.changed = true;
      return {
        publish: e.offset + value,
        notice: `${what}: ${CONFIRMATIONS} readings in a row are below the last ${fmt(lastValue)} (now ${fmt(value)}): the source counts again from scratch; the published counter carries on from ${fmt(before)}`,
      };
    }
    if (h) return {};
    return {
      reason: `${what}: counter went back from ${fmt(e.last)} to ${fmt(value)}: held until ${CONFIRMATIONS - 1} more readings confirm a restart of the source's count`,
    };
  }

  /** The first value after a crash: the counter resumes at the reservation when that is above it. */
  private resume(e: Entry): void {
    if (e.resumeAt === undefined) return;
    if (e.offset + e.last < e.resumeAt) e.offset = e.resumeAt - e.last;
    e.resumeAt = undefined;
    this.changed = true;
  }
}
