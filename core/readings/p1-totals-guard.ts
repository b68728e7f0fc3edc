import type { FlmP1Reading } from '../p1/flm-readings';
import { carriesOn, type At } from './counter-guard';
import type { TotalLimit } from '../config/limits';

/**
 * Plausibility of a P1 meter's registers, as counter-guard.ts does for a sensor board's totals.
 * A DSMR 2.2/3 telegram has no CRC, so one wrong digit on the line changes a register at will;
 * a telegram with a valid CRC can still carry an impossible value. Either, published as it
 * came, is retained by the broker and taken by Home Assistant as a meter reset, with the
 * meter's whole reading added again.
 *
 * The rules, per register (import and export, per tariff and summed; each gas, water and heat
 * meter):
 *
 * - A register may grow at most what the connection can deliver (or the meter pass) in the
 *   time since the last plausible value: host time or the meter's time, whichever is longer,
 *   at least one second.
 * - Growth within that is published. A jump above it, or a drop below the value before the
 *   last accepted one, is held: nothing of that telegram's electricity counters (or of that
 *   M-Bus meter) is published, until CONFIRMATIONS telegrams in a row agree with the held value
 *   (a replaced meter, a register set back by the grid operator). A single wrong digit is
 *   contradicted by the next telegram, which carries on from the last accepted value.
 * - A drop that stays above the value before the last accepted one means that last value was
 *   too high (a wrong digit small enough to pass): that register is not published until it
 *   passes that value again, so the published counter never goes back (the other registers,
 *   and the net counter, go on).
 * - The first value after a start is checked against the value saved with the counters (and
 *   the time it was saved); with none saved, it is taken as it comes.
 *
 * The net counter is import minus export and may go down; it is published only when every
 * electricity register of its telegram passed.
 */

/** Telegrams in a row that must agree with a held jump or drop before it is published. */
export const CONFIRMATIONS = 3;

/** What a P1 connection and its M-Bus meters can pass at most, before the margin. */
export interface P1Limits {
  /** the grid connection, W (default 3 × 63 A × 230 V) */
  maxPowerW: number;
  /** most gas flow, m³/h */
  maxGasM3h: number;
  /** most water flow, m³/h */
  maxWaterM3h: number;
}

export const DEFAULT_P1_LIMITS: P1Limits = { maxPowerW: 3 * 63 * 230, maxGasM3h: 10, maxWaterM3h: 5 };
/** Mains 10 % high and a fuse carried past its rating for a while both fit under 1.5. */
export const P1_MARGIN = 1.5;
/** Heat meters (district heating) are not set per home: a generous fixed bound. */
const MAX_HEAT_W = 200_000;

export interface P1GuardStats {
  /** registers held: jumps and drops waiting for confirmation, and dips under the last value */
  held: number;
  /** held values that later telegrams confirmed */
  confirmed: number;
}

type Why = 'jump' | 'drop';

interface RegisterState {
  ref: number;
  at: At;
  /** the value before the last accepted one: a dip to between it and ref is a wrong digit that passed */
  floor: number;
  held?: { value: number; at: At; why: Why; agreed: number };
  /**
   * The last plausible reading (ref, or a dip under it): growth is measured from here, so a
   * register that dips and then stays put for minutes has not earned minutes of growth.
   */
  seen: { value: number; at: At };
  /** waiting for the register to pass ref again (reported once) */
  waiting?: boolean;
}

interface Verdict {
  pass: boolean;
  /** a dip under the last published value: only this register's reading is left out */
  alone?: boolean;
  /** why it was held (said once per episode) */
  reason?: string;
  notice?: string;
}

export interface ScreenResult {
  /** the readings that may go out */
  pass: FlmP1Reading[];
  /** registers held in this telegram */
  held: number;
  /** why registers were held, for the node to show (said once per episode) */
  reasons: string[];
  notices: string[];
}

const fmt = (v: number): string => String(Math.round(v * 1000) / 1000);

export class P1TotalsGuard {
  private readonly registers = new Map<string, RegisterState>();
  private changed = false;
  readonly stats: P1GuardStats = { held: 0, confirmed: 0 };
  private readonly electricity: TotalLimit;
  private readonly byMedium: Readonly<Record<string, TotalLimit>>;

  constructor(
    limits: P1Limits = DEFAULT_P1_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    const w = limits.maxPowerW * P1_MARGIN;
    this.electricity = {
      perSecond: w / 3600,
      what: `the connection (${fmt(limits.maxPowerW / 1000)} kW × ${P1_MARGIN})`,
    };
    const flow = (m3h: number, what: string): TotalLimit => ({
      perSecond: (m3h * P1_MARGIN * 1000) / 3600,
      what: `${what} (${fmt(m3h)} m³/h × ${P1_MARGIN})`,
    });
    this.byMedium = {
      gas: flow(limits.maxGasM3h, 'a gas meter'),
      water: flow(limits.maxWaterM3h, 'a water meter'),
      heat: { perSecond: MAX_HEAT_W / 3600, what: `a heat meter (${MAX_HEAT_W / 1000} kW)` },
    };
  }

  /** True when a register's published value moved since the last snapshot(). */
  get dirty(): boolean {
    return this.changed;
  }

  /** The last published value of each register, to save with the counters. */
  snapshot(): Record<string, { value: number; ms: number }> {
    this.changed = false;
    const out: Record<string, { value: number; ms: number }> = {};
    for (const [sid, st] of this.registers) out[sid] = { value: st.ref, ms: st.at.host };
    return out;
  }

  /** Registers as saved: the first telegram after a start is checked against them. */
  restore(saved: Record<string, { p1?: { value: number; ms: number } }>): void {
    for (const [sid, e] of Object.entries(saved)) {
      if (!e.p1) continue;
      const at = { host: e.p1.ms, board: e.p1.ms };
      this.registers.set(sid, { ref: e.p1.value, at, floor: e.p1.value, seen: { value: e.p1.value, at } });
    }
  }

  /** The readings of one telegram that may go out: counters of held registers are left out. */
  screen(readings: readonly FlmP1Reading[]): ScreenResult {
    const host = this.now();
    const reasons: string[] = [];
    const notices: string[] = [];
    let electricityHeld = false;
    const heldSids = new Set<string>();
    let held = 0;
    for (const r of readings) {
      if (r.kind !== 'counter' || r.key === 'net') continue;
      const limit = r.type === 'electricity' ? this.electricity : this.byMedium[r.type];
      if (!limit) continue;
      const v = this.offer(r.sid, r.value, { host, board: r.ts * 1000 }, limit, r);
      if (v.reason) reasons.push(v.reason);
      if (v.notice) notices.push(v.notice);
      if (v.pass) continue;
      held++;
      if (r.type === 'electricity' && !v.alone) electricityHeld = true;
      else heldSids.add(r.sid);
    }
    const pass = readings.filter(
      (r) => r.kind !== 'counter' || !(heldSids.has(r.sid) || (electricityHeld && r.type === 'electricity')),
    );
    return { pass, held, reasons, notices };
  }

  private offer(id: string, value: number, at: At, limit: TotalLimit, r: FlmP1Reading): Verdict {
    const st = this.registers.get(id);
    const what = `P1 ${r.key} ${fmt(value)} ${r.unit}`;
    if (!st) {
      this.registers.set(id, { ref: value, at, floor: value, seen: { value, at } });
      this.changed = true;
      return { pass: true };
    }
    if (value >= st.ref && carriesOn(st.seen.value, st.seen.at, value, at, limit)) {
      if (value !== st.ref) this.changed = true;
      // The floor is the last value trusted below the new one: after a dip that was waited out it is
      // the dip, not the published value above it, which may itself have been a wrong digit.
      Object.assign(st, {
        floor: Math.min(st.ref, st.seen.value),
        ref: value,
        at,
        held: undefined,
        waiting: false,
        seen: { value, at },
      });
      return { pass: true };
    }
    this.stats.held++;
    if (value < st.ref && value >= st.floor) {
      st.held = undefined;
      st.seen = { value, at };
      if (st.waiting) return { pass: false, alone: true };
      st.waiting = true;
      return {
        pass: false,
        alone: true,
        reason: `${what} is below the ${fmt(st.ref)} published before: held until the meter passes it again`,
      };
    }
    const why: Why = value > st.ref ? 'jump' : 'drop';
    const h = st.held;
    const agreed = h?.why === why && carriesOn(h.value, h.at, value, at, limit) ? h.agreed + 1 : 1;
    if (agreed >= CONFIRMATIONS) {
      this.stats.confirmed++;
      const from = st.ref;
      Object.assign(st, { ref: value, at, floor: value, held: undefined, waiting: false, seen: { value, at } });
      this.changed = true;
      return {
        pass: true,
        notice: `${what}: ${CONFIRMATIONS} telegrams in a row agree on it (was ${fmt(from)}); published (a replaced or reset meter?)`,
      };
    }
    st.held = { value, at, why, agreed };
    if (agreed > 1) return { pass: false };
    const seconds = Math.max(at.host - st.seen.at.host, at.board - st.seen.at.board, 1000) / 1000;
    const reason =
      why === 'jump'
        ? `${what} jumped from ${fmt(st.seen.value)} in ${fmt(seconds)} s, more than ${limit.what} can pass`
        : `${what} dropped from ${fmt(st.ref)}`;
    return { pass: false, reason: `${reason}: held until ${CONFIRMATIONS - 1} more telegrams confirm it` };
  }
}
