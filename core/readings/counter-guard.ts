import type { TotalLimit } from '../config/limits';

/**
 * Plausibility of a counting source's running totals (the FLM03 board's `counter` records), so that
 * a corrupted total cannot inflate a published counter (docs/protocols/flm-mqtt.md#computation).
 * The FLM03 checksum, Fletcher-16, cannot see a byte flip between 0x00 and 0xFF; such a flip moves
 * a total by ±255·256^k units (or 255·256^k/65536 of a unit in a clamp's fraction, 0.255 in a pulse
 * total's thousandths). One such total taken at face value would be counted as a jump, and the next
 * good one as a restart: gigawatt-hours out of one byte.
 *
 * The rules, per source total (a port, and a clamp parameter):
 *
 * - Time: growth is measured against the time since the last accepted total, host time or the
 *   board's batch time, whichever is longer (host time alone would refuse an emulator run
 *   faster than real time, and bursts of batches the host reads at once). Neither is saved: the
 *   first total after a start has no time reference.
 * - Limit: a total may grow at most `perSecond` × elapsed seconds (at least one second):
 *   a clamp's rating × voltage × 2 (× 3 on a three-phase device), a pulse meter's constant
 *   × 50 pulses/s (limits.ts). A pulse meter's growth must also be a whole number of pulses.
 * - Growth within one second's worth is counted at once. More (reports lost on the line, an
 *   outage of the link) is counted when the next total agrees with it (grows from it within the
 *   limit): a corrupted total is contradicted by the good one after it, so it never counts.
 * - A jump above the limit is not counted and not adopted (a reject). Only when the totals after
 *   it agree with it and not with the reference (a board swapped for another) does counting
 *   follow the new run, from where it was first seen.
 * - A total that goes down, but not below the total before the last accepted one, is a glitch:
 *   the last accepted total was too high (a corrupted total small enough to pass). Nothing is
 *   counted and the higher reference is kept until the board's total passes it again, so the
 *   published counter never goes back and ends exact.
 * - A total that goes further down is a board restart at 0 when it is within the limit for
 *   the time since the last accepted total (the board cannot have counted more since). It is
 *   counted at once; if the next total carries on from the old reference instead, the
 *   "restart" was a corrupted total: what it counted is paid back, as for a glitch.
 *   Any other drop is a reject, and a lower run that persists is followed like a new board.
 * - The first total after a start is taken as before the guard: its growth from the saved
 *   total (all of it when there is none or when it is lower: the board restarted meanwhile),
 *   since the board may have counted for hours while Node-RED was down. Two kinds wait for the
 *   next total to agree: one below the saved total, and one that a 0x00→0xFF flip could have
 *   produced (a byte of its whole u32, its 16-bit fraction or its thousandths is 0xFF, about
 *   2 % of totals). A first total lowered by a flip costs nothing either: when the totals after
 *   it jump up and agree with each other, the jump is counted, since the reference was never
 *   confirmed.
 */

export interface At {
  /** host clock, ms */
  host: number;
  /** the batch's (board) time, ms */
  board: number;
}

type HeldWhy = 'first' | 'large' | 'jump' | 'drop';

interface Held {
  value: number;
  at: At;
  why: HeldWhy;
}

export interface TotalState {
  /** the board total counted up to (saved with the counter) */
  ref?: number;
  /** when ref was accepted; unset after a start */
  at?: At;
  /** the reference before the last accepted step: a total between floor and ref is a glitch */
  floor?: number;
  /** ref is a first total after a start that no later total has agreed with yet */
  provisional?: boolean;
  held?: Held;
  /** a restart counted by the last total, in case the next one shows it was corrupted */
  undo?: { ref: number; at: At; floor: number; counted: number };
  /** in a glitch, waiting for the board's total to pass ref (reported once) */
  waiting?: boolean;
}

export interface Verdict {
  /** growth to count, in counter units */
  count: number;
  /** why the total was not counted, for the node to show (a reject) */
  reject?: string;
  /** something a person may want to know that is not an error (a restart, a new board) */
  notice?: string;
}

export interface GuardStats {
  /** totals counted at once */
  accepted: number;
  /** totals above one second's growth, or first totals, waiting for the next to agree */
  deferred: number;
  /** jumps above the limit (or not a whole number of pulses) */
  jumps: number;
  /** drops that are neither a glitch nor a restart */
  drops: number;
  /** totals below the reference while waiting for the board's total to catch up */
  glitches: number;
  restarts: number;
  /** restarts taken back because the next total carried on from the old reference */
  falseRestarts: number;
  /** runs of totals followed after a jump or drop (a replaced board) */
  newRuns: number;
}

export const emptyGuardStats = (): GuardStats => ({
  accepted: 0,
  deferred: 0,
  jumps: 0,
  drops: 0,
  glitches: 0,
  restarts: 0,
  falseRestarts: 0,
  newRuns: 0,
});

/** Float slack: thousandths and 1/65536 differences, not a real margin. */
const EPS = 1e-6;

function allowance(limit: TotalLimit, from: At, to: At): number {
  const ms = Math.max(to.host - from.host, to.board - from.board, 1000);
  return (limit.perSecond * ms) / 1000;
}

function wholePulses(growth: number, limit: TotalLimit): boolean {
  if (limit.pulseMilli === undefined || limit.pulseMilli <= 0) return true;
  return Math.round(growth * 1000) % limit.pulseMilli === 0;
}

/** Does `value` at `at` carry on from `from` at `fromAt`: grown, within the limit, whole pulses? */
export function carriesOn(from: number, fromAt: At, value: number, at: At, limit: TotalLimit): boolean {
  const g = value - from;
  return g >= -EPS && g <= allowance(limit, fromAt, at) + EPS && wholePulses(g, limit);
}

/**
 * Could a 0x00→0xFF flip have produced this total as the FLM03 sends it: a byte of the whole
 * u32, of a clamp's 16-bit binary fraction, or of a pulse total's thousandths that is 0xFF.
 */
export function mayBeFlippedUp(value: number): boolean {
  const whole = Math.floor(value);
  if (whole > 0xffffffff) return true;
  for (let k = 0; k < 32; k += 8) if (((whole >>> k) & 0xff) === 0xff) return true;
  const frac = value - whole;
  const f16 = Math.round(frac * 65536);
  if ((f16 & 0xff) === 0xff || ((f16 >>> 8) & 0xff) === 0xff) return true;
  return (Math.round(frac * 1000) & 0xff) === 0xff;
}

const fmt = (v: number): string => String(Math.round(v * 1000) / 1000);

/** One source total offered against its state; the state is updated in place. */
export function offerTotal(st: TotalState, value: number, at: At, limit: TotalLimit, stats: GuardStats): Verdict {
  let notice: string | undefined;
  if (st.undo) {
    const u = st.undo;
    st.undo = undefined;
    if (carriesOn(u.ref, u.at, value, at, limit)) {
      // The "restart" was a corrupted total: keep what it counted as debt on top of the old reference.
      stats.falseRestarts++;
      Object.assign(st, { ref: u.ref + u.counted, at: u.at, floor: u.ref, provisional: false });
      notice = `the drop to ${fmt(u.counted)} was not a restart (the next total ${fmt(value)} carries on from ${fmt(u.ref)}); counting resumes above ${fmt(u.ref + u.counted)}`;
    }
  }
  const v =
    st.ref === undefined || st.at === undefined
      ? first(st, value, at, limit, stats)
      : next(st, value, at, limit, stats);
  return notice && !v.notice ? { ...v, notice } : v;
}

function accept(st: TotalState, value: number, at: At, count: number, stats: GuardStats, provisional = false): Verdict {
  stats.accepted++;
  st.floor = provisional ? value : Math.min(st.ref ?? value, value);
  st.ref = value;
  st.at = at;
  st.provisional = provisional;
  st.held = undefined;
  st.waiting = false;
  return { count };
}

function first(st: TotalState, value: number, at: At, limit: TotalLimit, stats: GuardStats): Verdict {
  const saved = st.ref;
  const asBefore = (v: number): number => (saved === undefined || v < saved ? v : v - saved);
  const h = st.held;
  if (h?.why === 'first' && carriesOn(h.value, h.at, value, at, limit)) {
    // Counted from the later total, which the flip that may have touched the held one spared.
    const r = accept(st, value, at, asBefore(value), stats);
    return saved !== undefined && value < saved
      ? {
          ...r,
          notice: `the board's total ${fmt(value)} is below the saved ${fmt(saved)}: it restarted while Node-RED was down`,
        }
      : r;
  }
  if (mayBeFlippedUp(value) || (saved !== undefined && value < saved)) {
    stats.deferred++;
    st.held = { value, at, why: 'first' };
    return { count: 0 };
  }
  return accept(st, value, at, asBefore(value), stats, true);
}

function next(st: TotalState, value: number, at: At, limit: TotalLimit, stats: GuardStats): Verdict {
  const ref = st.ref!;
  const refAt = st.at!;
  const g = value - ref;
  if (g >= -EPS) {
    if (carriesOn(ref, refAt, value, at, limit)) {
      const h = st.held;
      if (g <= limit.perSecond + EPS || (h?.why === 'large' && carriesOn(h.value, h.at, value, at, limit))) {
        return accept(st, value, at, Math.max(0, g), stats);
      }
      stats.deferred++;
      st.held = { value, at, why: 'large' };
      return { count: 0 };
    }
    const seconds = Math.max(at.host - refAt.host, at.board - refAt.board, 1000) / 1000;
    const why = wholePulses(g, limit)
      ? `jumped by ${fmt(g)} in ${fmt(seconds)} s, more than ${limit.what} can count`
      : `grew by ${fmt(g)}, not a whole number of ${fmt(limit.pulseMilli! / 1000)}-unit pulses`;
    return outlier(st, value, at, limit, stats, 'jump', `total ${fmt(value)} ${why}: not counted`);
  }
  if (value >= (st.floor ?? ref) - EPS) {
    stats.glitches++;
    st.held = undefined;
    if (st.waiting) return { count: 0 };
    st.waiting = true;
    return {
      count: 0,
      reject: `total went down from ${fmt(ref)} to ${fmt(value)}, which only a corrupted total explains: not counted; counting resumes once the board's total passes ${fmt(ref)}`,
    };
  }
  if (value <= allowance(limit, refAt, at) + EPS && wholePulses(value, limit)) {
    stats.restarts++;
    st.undo = { ref, at: refAt, floor: st.floor ?? ref, counted: value };
    Object.assign(st, { ref: value, at, floor: value, provisional: false, held: undefined, waiting: false });
    return {
      count: value,
      notice: `the board's total went from ${fmt(ref)} to ${fmt(value)}: a restart at 0, ${fmt(value)} counted`,
    };
  }
  return outlier(
    st,
    value,
    at,
    limit,
    stats,
    'drop',
    `total ${fmt(value)} dropped from ${fmt(ref)}, more than a glitch and too much for a restart at 0 since: not counted`,
  );
}

function outlier(
  st: TotalState,
  value: number,
  at: At,
  limit: TotalLimit,
  stats: GuardStats,
  why: 'jump' | 'drop',
  reject: string,
): Verdict {
  const h = st.held;
  if (h?.why === why && carriesOn(h.value, h.at, value, at, limit)) {
    // Two totals agree with each other and not with the reference: the board's total moved for
    // good. A reference no total ever agreed with was the odd one out (a first total lowered by
    // a flip): the jump from it is real growth. Otherwise count from where the new run began.
    stats.newRuns++;
    const count = st.provisional && why === 'jump' ? value - st.ref! : value - h.value;
    const from = st.ref!;
    Object.assign(st, { ref: value, at, floor: value, provisional: false, held: undefined, waiting: false });
    return {
      count,
      notice: `following a new run of totals from ${fmt(h.value)} (was ${fmt(from)}): a replaced board?`,
    };
  }
  if (why === 'jump') stats.jumps++;
  else stats.drops++;
  st.held = { value, at, why };
  return { count: 0, reject };
}
