import type { Device, Sensor } from '../config/schema';
import type { ReadingKind } from '../mqtt/topics';
import type { BoardBatch, PortRecord } from '../mqtt/board-batch';
import { sensorUnits, unitsFor } from '../mqtt/units';
import type { CounterState, SensorCounter } from './counter-state';
import { EmitRules } from './emit-rules';
import { totalLimit, type TotalLimit } from '../config/limits';
import { emptyGuardStats, offerTotal, type At, type GuardStats, type TotalState } from './counter-guard';
import { CounterReservations } from './counter-reservation';

export interface Reading {
  sid: string;
  kind: ReadingKind;
  /** Unix seconds */
  ts: number;
  value: number;
  unit: string;
  sensor: Sensor;
}

export interface BatchResult {
  readings: Reading[];
  /** true when the batch's clock was not valid: counters advanced, nothing was emitted */
  heldBack: boolean;
  /** one message per record that named a sensor we do not know */
  errors: string[];
  /** records for ports no enabled sensor uses (a disabled sensor; not an error) */
  unmapped: number;
  /** news that is not an error: a source total restarted, or a new run of totals is followed */
  notices: string[];
}

export interface ReadingComputerOptions {
  /** host clock, ms (default Date.now): the time base of the running-total limits */
  now?: () => number;
}

/** Power samples further apart than this are not integrated: the energy between is unknown. */
const MAX_ANALOG_GAP_MS = 10_000;

interface Runtime {
  counter: SensorCounter;
  lastGaugeValue?: number;
  /** ms time of the last pulse (pulse) or of the last power sample (analog) */
  lastMs?: number;
  /** per source total (port, or "sid"): the plausibility state of counter-guard.ts */
  totals: Map<string, TotalState>;
  limit: TotalLimit;
}

/**
 * The FLM's reading computation (docs/protocols/flm-mqtt.md#computation, with the AVR's pulse
 * accounting) for pulse and analog (clamp) sensors, fed one batch per poll.
 *
 * Differences from the FLM, on purpose:
 * - fractional meter constants are exact: counters are kept in thousandths, so 1.001 Wh/pulse
 *   counts 1.001, not 1;
 * - a pulse gauge decays when pulses stop: t ms without a pulse means the power is at most
 *   constant/t, so the gauge follows that bound down instead of freezing;
 * - readings with an invalid clock are held back, but the pulses and energy they carry still
 *   count, so nothing is lost once the clock is set;
 * - the counter is published at the first valid batch after a start (it is restored from
 *   disk), not swallowed as the FLM's start-up guard.
 *
 * A source that keeps its own running totals (`counter` records, the FLM03 board) adds what
 * each total grew by since the last one seen from that port, so the published counter equals
 * the source's as long as it counts up, and never goes back when the source restarts at 0.
 * Each total is first checked against what the sensor can count (counter-guard.ts: a rate
 * limit, glitches waited out, restarts told from corrupted totals); a total that fails is not
 * counted and comes back as an error naming the sensor. Its `gauge` records are published as
 * measured.
 */
export class ReadingComputer {
  private readonly byPort = new Map<number, Sensor>();
  /** `${port}/${subtype}` for clamp parameters other than pplus */
  private readonly byParameter = new Map<string, Sensor>();
  private readonly byId = new Map<string, Sensor>();
  private readonly runtime = new Map<string, Runtime>();
  private readonly rules = new EmitRules();
  private changed = false;
  private readonly now: () => number;
  private readonly guard = emptyGuardStats();
  private readonly reservations: CounterReservations;
  /** saved entries of sensors not counted here (disabled, removed, P1 registers): kept as they were */
  private readonly kept: CounterState['sensors'] = {};

  constructor(
    private readonly device: Device,
    state: CounterState = { sensors: {} },
    options: ReadingComputerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.reservations = new CounterReservations({ now: this.now });
    for (const s of device.sensors) {
      if (!s.enable || (s.class !== 'pulse' && s.class !== 'analog')) continue;
      this.byId.set(s.id, s);
      // Board batches carry active power per port: that is the FLM03 pplus parameter, not q1 or vrms.
      if (s.subtype === undefined || s.subtype === 'pplus') for (const p of s.port) this.byPort.set(p, s);
      else for (const p of s.port) this.byParameter.set(`${p}/${s.subtype}`, s);
      const saved = state.sensors[s.id];
      const counter: SensorCounter =
        s.class === 'pulse' ? { milli: saved?.milli ?? 0 } : { joules: saved?.joules ?? 0 };
      if (saved?.refs) counter.refs = { ...saved.refs };
      // After a crash, resume at what may have been published already (counter-reservation.ts).
      if (saved?.reserved !== undefined && saved.reserved > published(s, counter)) {
        if (s.class === 'pulse') counter.milli = Math.round(saved.reserved * 1000);
        else counter.joules = saved.reserved * 3600;
      }
      this.reservations.restore(s.id, saved?.reserved);
      this.runtime.set(s.id, { counter, totals: new Map(), limit: totalLimit(s, device.phase) });
    }
    for (const [sid, c] of Object.entries(state.sensors)) if (!this.runtime.has(sid)) this.kept[sid] = c;
  }

  /** True when counters moved since the last snapshot(). */
  get dirty(): boolean {
    return this.changed;
  }

  /** What the running-total checks did so far. */
  get guardStats(): GuardStats {
    return { ...this.guard };
  }

  snapshot(): CounterState {
    this.changed = false;
    const sensors: CounterState['sensors'] = { ...this.kept };
    for (const [sid, rt] of this.runtime) {
      const c: SensorCounter = { ...rt.counter };
      if (rt.counter.refs) c.refs = { ...rt.counter.refs };
      const reserved = this.reservations.reserved(sid);
      if (reserved !== undefined) c.reserved = reserved;
      sensors[sid] = c;
    }
    return { sensors };
  }

  /** Are all these counter readings within what is reserved on disk (else reserve() and save first)? */
  covers(readings: Reading[]): boolean {
    return readings.every(
      (r) => r.kind !== 'counter' || !this.runtime.has(r.sid) || this.reservations.covers(r.sid, r.value),
    );
  }

  /**
   * Reserve ahead of every counter that is published, or about to be (counter-reservation.ts);
   * true when a reservation moved, so the state must be saved before a counter above the old one goes out.
   */
  reserve(): boolean {
    let moved = false;
    for (const [sid, rt] of this.runtime) {
      const s = this.byId.get(sid)!;
      if (sensorUnits(s)?.counter === undefined) continue;
      if (this.reservations.raise(sid, published(s, rt.counter))) moved = true;
    }
    if (moved) this.changed = true;
    return moved;
  }

  /** At a clean stop: the saved counts hold every published value, so nothing stays reserved. */
  releaseReservations(): void {
    if (this.reservations.release()) this.changed = true;
  }

  process(batch: BoardBatch): BatchResult {
    const result: BatchResult = { readings: [], heldBack: false, errors: [], unmapped: 0, notices: [] };
    const ts = Math.floor(batch.time / 1000);
    const valid = ts > this.device.validAfter;
    result.heldBack = !valid;

    const pulses = new Map<Sensor, PulseInput>();
    const power = new Map<Sensor, number>();
    const joules = new Map<Sensor, number>();
    const gauges = new Map<Sensor, number>();
    const at: At = { host: this.now(), board: batch.time };
    for (const rec of batch.records) {
      const sensor = this.resolve(rec, result);
      if (!sensor) continue;
      const rt = this.runtime.get(sensor.id)!;
      if (rec.kind === 'pulse' && sensor.class === 'pulse') {
        addPulse(pulses, sensor, rec.pulses * Math.round(sensor.constant! * 1000), rec.time ?? batch.time);
      } else if (rec.kind === 'analog' && sensor.class === 'analog') {
        power.set(sensor, (power.get(sensor) ?? 0) + rec.power);
      } else if (rec.kind === 'counter' && sensorUnits(sensor)?.counter !== undefined) {
        const grown = this.growth(sensor, rt, rec.port === undefined ? 'sid' : String(rec.port), rec.value, at, result);
        if (sensor.class === 'pulse') addPulse(pulses, sensor, Math.round(grown * 1000), rec.time ?? batch.time);
        else joules.set(sensor, (joules.get(sensor) ?? 0) + grown * 3600);
      } else if (rec.kind === 'gauge') {
        gauges.set(sensor, (gauges.get(sensor) ?? 0) + rec.value);
      } else {
        const what =
          rec.kind === 'counter'
            ? `${sensor.subtype ?? sensor.type} sensor "${sensor.name}", which has no counter`
            : `${sensor.class} sensor "${sensor.name}"`;
        result.errors.push(`a ${rec.kind} record cannot feed ${what}`);
      }
    }

    for (const [sid, rt] of this.runtime) {
      const sensor = this.byId.get(sid)!;
      if (sensor.class === 'pulse') this.pulse(sensor, rt, pulses.get(sensor), batch.time, ts, valid, result);
      else {
        if (power.has(sensor)) this.analog(sensor, rt, power.get(sensor)!, batch.time, ts, valid, result);
        const j = joules.get(sensor);
        if (j) {
          rt.counter.joules! += j;
          this.changed = true;
        }
      }
      const g = gauges.get(sensor);
      if (g !== undefined) this.emitGauge(sensor, rt, ts, roundTo(g, 3), valid, result);
      if (valid) this.emitCounter(sensor, rt, ts, result);
    }
    return result;
  }

  private resolve(rec: PortRecord, result: BatchResult): Sensor | undefined {
    if (rec.sid !== undefined) {
      const s = this.byId.get(rec.sid);
      if (!s) result.errors.push(`unknown sensor id ${rec.sid}: not an enabled pulse or analog sensor of this device`);
      return s;
    }
    const parameter = 'subtype' in rec ? rec.subtype : undefined;
    const s =
      parameter === undefined || parameter === 'pplus'
        ? this.byPort.get(rec.port!)
        : this.byParameter.get(`${rec.port}/${parameter}`);
    if (!s) result.unmapped++;
    return s;
  }

  /** How much a source's running total grew since the last accepted one from `key` (counter-guard.ts). */
  private growth(s: Sensor, rt: Runtime, key: string, value: number, at: At, result: BatchResult): number {
    const refs = (rt.counter.refs ??= {});
    let st = rt.totals.get(key);
    if (!st) {
      st = refs[key] === undefined ? {} : { ref: refs[key] };
      rt.totals.set(key, st);
    }
    const verdict = offerTotal(st, value, at, rt.limit, this.guard);
    if (st.ref !== undefined && refs[key] !== st.ref) {
      refs[key] = st.ref;
      this.changed = true;
    }
    const where = key === 'sid' ? '' : ` (port ${key}${s.subtype ? ` ${s.subtype}` : ''})`;
    if (verdict.reject) result.errors.push(`sensor "${s.name}"${where}: ${verdict.reject}`);
    if (verdict.notice) result.notices.push(`sensor "${s.name}"${where}: ${verdict.notice}`);
    return verdict.count;
  }

  private pulse(
    s: Sensor,
    rt: Runtime,
    p: PulseInput | undefined,
    now: number,
    ts: number,
    valid: boolean,
    result: BatchResult,
  ): void {
    const { factor, decimals } = unitsFor(s.type);
    const constMilli = Math.round(s.constant! * 1000);
    if (p && p.milli > 0) {
      rt.counter.milli! += p.milli;
      this.changed = true;
      if (rt.lastMs !== undefined && p.time > rt.lastMs) {
        // Average rate between the last pulse of the previous batch and the last of this one.
        this.emitGauge(s, rt, ts, roundTo((p.milli / 1000 / (p.time - rt.lastMs)) * factor, decimals), valid, result);
      }
      rt.lastMs = p.time;
    } else if (rt.lastMs !== undefined && rt.lastGaugeValue !== undefined && rt.lastGaugeValue > 0) {
      const silence = now - rt.lastMs;
      if (silence > 0) {
        const bound = roundTo((constMilli / 1000 / silence) * factor, decimals);
        if (bound < rt.lastGaugeValue) this.emitGauge(s, rt, ts, bound, valid, result);
      }
    }
  }

  private analog(
    s: Sensor,
    rt: Runtime,
    watts: number,
    now: number,
    ts: number,
    valid: boolean,
    result: BatchResult,
  ): void {
    if (rt.lastMs !== undefined) {
      const dt = now - rt.lastMs;
      if (dt > 0 && dt <= MAX_ANALOG_GAP_MS) {
        rt.counter.joules! += (watts * dt) / 1000;
        this.changed = true;
      }
    }
    if (rt.lastMs === undefined || now > rt.lastMs) rt.lastMs = now;
    this.emitGauge(s, rt, ts, Math.round(watts), valid, result);
  }

  private emitGauge(s: Sensor, rt: Runtime, ts: number, value: number, valid: boolean, result: BatchResult): void {
    if (!valid || !this.rules.gauge(s.id, ts)) return;
    rt.lastGaugeValue = value;
    result.readings.push({ sid: s.id, kind: 'gauge', ts, value, unit: sensorUnits(s)!.gauge, sensor: s });
  }

  private emitCounter(s: Sensor, rt: Runtime, ts: number, result: BatchResult): void {
    const unit = sensorUnits(s)?.counter;
    if (unit === undefined) return; // vrms, pf, …: a gauge only
    const value = published(s, rt.counter);
    if (!this.rules.counter(s.id, ts, value)) return;
    result.readings.push({ sid: s.id, kind: 'counter', ts, value, unit, sensor: s });
  }
}

interface PulseInput {
  /** thousandths of a counter unit counted in this batch */
  milli: number;
  /** Unix ms of the last pulse */
  time: number;
}

function addPulse(into: Map<Sensor, PulseInput>, s: Sensor, milli: number, time: number): void {
  const p = into.get(s) ?? { milli: 0, time: -Infinity };
  p.milli += milli;
  if (milli > 0) p.time = Math.max(p.time, time);
  into.set(s, p);
}

function roundTo(v: number, decimals: number): number {
  const f = 10 ** decimals;
  const r = Math.round(v * f) / f;
  return r === 0 ? 0 : r;
}

/** The counter as it is published: thousandths of a pulse meter's unit, whole Wh of a clamp. */
function published(s: Sensor, c: SensorCounter): number {
  return s.class === 'pulse' ? (c.milli ?? 0) / 1000 : wholeWh(c.joules ?? 0);
}

/** Whole Wh in a joule count, forgiving the last bits of float error from fractional watts. */
function wholeWh(joules: number): number {
  return Math.floor(joules / 3600 + 1e-9);
}
