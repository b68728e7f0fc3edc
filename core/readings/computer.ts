import type { Device, Sensor } from '../config/schema';
import type { ReadingKind } from '../mqtt/topics';
import type { BoardBatch, PortRecord } from './records';
import { unitsFor } from './units';
import type { CounterState, SensorCounter } from './counter-state';
import { EmitRules } from './emit-rules';

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
}

/** Power samples further apart than this are not integrated: the energy between is unknown. */
const MAX_ANALOG_GAP_MS = 10_000;

interface Runtime {
  counter: SensorCounter;
  lastGaugeValue?: number;
  /** ms time of the last pulse (pulse) or of the last power sample (analog) */
  lastMs?: number;
}

/**
 * The FLM's reading computation (flm-firmware.md §2, with the AVR's pulse accounting of §1.5)
 * for pulse and analog (clamp) sensors, fed one batch per poll.
 *
 * Differences from the FLM, on purpose:
 * - fractional meter constants are exact: counters are kept in thousandths, so 1.001 Wh/pulse
 *   counts 1.001, not 1 (quirk 2);
 * - a pulse gauge decays when pulses stop: t ms without a pulse means the power is at most
 *   constant/t, so the gauge follows that bound down instead of freezing (quirk 9);
 * - readings with an invalid clock are held back, but the pulses and energy they carry still
 *   count, so nothing is lost once the clock is set;
 * - the counter is published at the first valid batch after a start (it is restored from
 *   disk), not swallowed as the FLM's start-up guard.
 */
export class ReadingComputer {
  private readonly byPort = new Map<number, Sensor>();
  private readonly byId = new Map<string, Sensor>();
  private readonly runtime = new Map<string, Runtime>();
  private readonly rules = new EmitRules();
  private changed = false;

  constructor(private readonly device: Device, state: CounterState = { sensors: {} }) {
    for (const s of device.sensors) {
      if (!s.enable || (s.class !== 'pulse' && s.class !== 'analog')) continue;
      this.byId.set(s.id, s);
      // Board batches carry active power per port: that is the FLM03 pplus parameter, not q1 or vrms.
      if (s.subtype === undefined || s.subtype === 'pplus') for (const p of s.port) this.byPort.set(p, s);
      const saved = state.sensors[s.id];
      const counter: SensorCounter = s.class === 'pulse' ? { milli: saved?.milli ?? 0 } : { joules: saved?.joules ?? 0 };
      this.runtime.set(s.id, { counter });
    }
  }

  /** True when counters moved since the last snapshot(). */
  get dirty(): boolean {
    return this.changed;
  }

  snapshot(): CounterState {
    this.changed = false;
    const sensors: CounterState['sensors'] = {};
    for (const [sid, rt] of this.runtime) sensors[sid] = { ...rt.counter };
    return { sensors };
  }

  process(batch: BoardBatch): BatchResult {
    const result: BatchResult = { readings: [], heldBack: false, errors: [], unmapped: 0 };
    const ts = Math.floor(batch.time / 1000);
    const valid = ts > this.device.validAfter;
    result.heldBack = !valid;

    const pulses = new Map<Sensor, { count: number; time: number }>();
    const power = new Map<Sensor, number>();
    for (const rec of batch.records) {
      const sensor = this.resolve(rec, result);
      if (!sensor) continue;
      if (rec.kind === 'pulse' && sensor.class === 'pulse') {
        const p = pulses.get(sensor) ?? { count: 0, time: -Infinity };
        p.count += rec.pulses;
        p.time = Math.max(p.time, rec.time ?? batch.time);
        pulses.set(sensor, p);
      } else if (rec.kind === 'analog' && sensor.class === 'analog') {
        power.set(sensor, (power.get(sensor) ?? 0) + rec.power);
      } else {
        result.errors.push(`a ${rec.kind} record cannot feed ${sensor.class} sensor "${sensor.name}"`);
      }
    }

    for (const [sid, rt] of this.runtime) {
      const sensor = this.byId.get(sid)!;
      if (sensor.class === 'pulse') this.pulse(sensor, rt, pulses.get(sensor), batch.time, ts, valid, result);
      else if (power.has(sensor)) this.analog(sensor, rt, power.get(sensor)!, batch.time, ts, valid, result);
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
    const s = this.byPort.get(rec.port!);
    if (!s) result.unmapped++;
    return s;
  }

  private pulse(
    s: Sensor, rt: Runtime, p: { count: number; time: number } | undefined,
    now: number, ts: number, valid: boolean, result: BatchResult,
  ): void {
    const { factor } = unitsFor(s.type);
    const constMilli = Math.round(s.constant! * 1000);
    if (p && p.count > 0) {
      rt.counter.milli! += p.count * constMilli;
      this.changed = true;
      if (rt.lastMs !== undefined && p.time > rt.lastMs) {
        // Average power between the last pulse of the previous batch and the last of this one.
        const watts = Math.round(((p.count * constMilli) / 1000 / (p.time - rt.lastMs)) * factor);
        this.emitGauge(s, rt, ts, watts, valid, result);
      }
      rt.lastMs = p.time;
    } else if (rt.lastMs !== undefined && rt.lastGaugeValue !== undefined && rt.lastGaugeValue > 0) {
      const silence = now - rt.lastMs;
      if (silence > 0) {
        const bound = Math.round((constMilli / 1000 / silence) * factor);
        if (bound < rt.lastGaugeValue) this.emitGauge(s, rt, ts, bound, valid, result);
      }
    }
  }

  private analog(s: Sensor, rt: Runtime, watts: number, now: number, ts: number, valid: boolean, result: BatchResult): void {
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
    result.readings.push({ sid: s.id, kind: 'gauge', ts, value, unit: unitsFor(s.type).gauge, sensor: s });
  }

  private emitCounter(s: Sensor, rt: Runtime, ts: number, result: BatchResult): void {
    const value = s.class === 'pulse' ? rt.counter.milli! / 1000 : wholeWh(rt.counter.joules!);
    if (!this.rules.counter(s.id, ts, value)) return;
    result.readings.push({ sid: s.id, kind: 'counter', ts, value, unit: unitsFor(s.type).counter, sensor: s });
  }
}

/** Whole Wh in a joule count, forgiving the last bits of float error from fractional watts. */
function wholeWh(joules: number): number {
  return Math.floor(joules / 3600 + 1e-9);
}
