import type { Sensor } from '../config/schema';
import { counterToDecimal, q2011Thousandths } from './fixed-point';
import { CLOCK_VALID_AFTER } from '../config/clock-valid';
import { sensorUnits } from '../mqtt/units';
import {
  CT_COUNTERS,
  CT_PARAMETERS,
  type CtData,
  type CtParameter,
  type PulseData,
  timeStepFrame,
} from './flm03-messages';

/**
 * FLM03 board messages as FLM readings (docs/protocols/sensor-board.md#flm03-message-types), the
 * way flxd publishes them: ct_data gives per-clamp counters and gauges directly, stamped `time −
 * 1`; pulse_data gives a counter and, when non-zero, a gauge, stamped `time`. Values have three
 * decimals.
 *
 * Units are those Home Assistant accepts: reactive energy and power are `varh` and `var` where
 * flxd wrote `VARh` and `VAR` (kept as flmUnit).
 */

export interface Flm03Reading {
  /** the sensor table's id for this reading, when a sensor matches */
  sid?: string;
  /** physical port, 1-based: clamps 1–3, pulse inputs 4–6 */
  port: number;
  /** FLM03 sensor index: clamp port (0-based) × 12 + parameter; 36–38 for pulse ports 4–6 */
  index: number;
  /** clamp parameter (the sensor's subtype); absent for pulse ports */
  parameter?: CtParameter;
  kind: 'counter' | 'gauge';
  /** Unix seconds, board time */
  ts: number;
  value: number;
  unit: string;
  /** the unit flxd published */
  flmUnit: string;
}

export interface Flm03ReadingOptions {
  /** the device's sensors, to fill in sid (and, for pulse ports, the type) */
  sensors?: readonly Sensor[];
  /** readings stamped at or before this are dropped (the FLM's 2009-02-13 rule); default CLOCK_VALID_AFTER */
  validAfter?: number;
}

const CLAMP_PORTS = 3;
const PULSE_INDEX_BASE = CLAMP_PORTS * CT_PARAMETERS.length;

interface Units {
  unit: string;
  flmUnit: string;
}

/** flxd's spelling of the reactive units, kept as flmUnit. */
const FLXD_SPELLING: Readonly<Record<string, string>> = { varh: 'VARh', var: 'VAR' };

/** A clamp parameter's units come from the one table of sensor units (core/mqtt/units.ts). */
function parameterUnits(parameter: CtParameter, kind: 'counter' | 'gauge'): Units {
  const u = sensorUnits({ type: 'electricity', subtype: parameter });
  const unit = (kind === 'counter' ? u?.counter : u?.gauge) ?? '';
  return { unit, flmUnit: FLXD_SPELLING[unit] ?? unit };
}

/** One clamp's second: 6 counters and 12 gauges. Nothing when the board clock is not valid. */
export function ctDataReadings(ct: CtData, options: Flm03ReadingOptions = {}): Flm03Reading[] {
  if (ct.port >= CLAMP_PORTS) return [];
  const ts = ct.time - 1;
  if (ts <= (options.validAfter ?? CLOCK_VALID_AFTER)) return [];
  const port = ct.port + 1;
  const out: Flm03Reading[] = [];
  const push = (i: number, kind: Flm03Reading['kind'], value: number, units: Units): void => {
    const parameter = CT_PARAMETERS[i]!;
    const sid = clampSensor(options.sensors, port, parameter)?.id;
    out.push({
      ...(sid ? { sid } : {}),
      port,
      index: ct.port * CT_PARAMETERS.length + i,
      parameter,
      kind,
      ts,
      value,
      ...units,
    });
  };
  for (let i = 0; i < CT_COUNTERS; i++) {
    const c = ct.counters[i]!;
    push(i, 'counter', counterToDecimal(c.integer, c.fraction), parameterUnits(CT_PARAMETERS[i]!, 'counter'));
  }
  for (let i = 0; i < CT_PARAMETERS.length; i++) {
    push(i, 'gauge', q2011Thousandths(ct.gauges[i]!) / 1000, parameterUnits(CT_PARAMETERS[i]!, 'gauge'));
  }
  return out;
}

/**
 * A clamp reading's sensor: the enabled analog sensor on exactly that one port with that
 * subtype. A sensor without a subtype stands for pplus, the FLM02 meaning of a clamp (energy
 * taken from the grid). Sensors on several ports (an FLM02 three-phase sum) match nothing:
 * the FLM03 reports each clamp by itself, and three clamps must not share one counter.
 */
function clampSensor(sensors: readonly Sensor[] | undefined, port: number, parameter: CtParameter): Sensor | undefined {
  return sensors?.find(
    (s) =>
      s.enable &&
      s.class === 'analog' &&
      s.port.length === 1 &&
      s.port[0] === port &&
      (s.subtype ?? 'pplus') === parameter,
  );
}

export interface PulseUnits {
  counter: string;
  gauge: string;
  /** gauge = board gauge (counter units per second) × factor */
  factor: number;
}

const ENERGY: PulseUnits = { counter: 'Wh', gauge: 'W', factor: 3600 };
const VOLUME: PulseUnits = { counter: 'L', gauge: 'L/s', factor: 1 };
const PULSE_UNITS: Readonly<Record<string, PulseUnits>> = {
  electricity: ENERGY,
  heat: ENERGY,
  gas: VOLUME,
  fuel: VOLUME,
  water: VOLUME,
  pellet: { counter: 'g', gauge: 'g/s', factor: 1 },
  time: { counter: 's', gauge: '', factor: 1 },
};
const OTHER: PulseUnits = { counter: '', gauge: '1/s', factor: 1 };

/** FLM03 pulse units by sensor type (docs/protocols/flm-mqtt.md#units); an unknown type counts plain events. */
export function pulseUnits(type: string): PulseUnits {
  return PULSE_UNITS[type] ?? OTHER;
}

export interface PulseReadingOptions extends Flm03ReadingOptions {
  /** sensor type when no sensor in the table matches; default electricity */
  type?: string;
}

/** A pulse port's counter, and its gauge when the board's is non-zero. */
export function pulseDataReadings(p: PulseData, options: PulseReadingOptions = {}): Flm03Reading[] {
  if (p.port < CLAMP_PORTS || p.port >= CLAMP_PORTS + 3) return [];
  if (p.time <= (options.validAfter ?? CLOCK_VALID_AFTER)) return [];
  const port = p.port + 1;
  const sensor = options.sensors?.find((s) => s.enable && s.class === 'pulse' && s.port.includes(port));
  const units = pulseUnits(sensor?.type ?? options.type ?? 'electricity');
  const base = {
    ...(sensor ? { sid: sensor.id } : {}),
    port,
    index: PULSE_INDEX_BASE + p.port - CLAMP_PORTS,
    ts: p.time,
  };
  const out: Flm03Reading[] = [
    {
      ...base,
      kind: 'counter',
      value: ((p.counter >>> 0) * 1000 + p.counterMillis) / 1000,
      unit: units.counter,
      flmUnit: units.counter,
    },
  ];
  if (p.gauge !== 0) {
    // raw/2048 × factor, cut toward zero at the third decimal as flxd's modff does; exact here
    // (raw × factor × 1000 stays far below 2^53) where flxd's float32 was not.
    const thousandths = Math.trunc((p.gauge * units.factor * 1000) / 2048);
    out.push({
      ...base,
      kind: 'gauge',
      value: (thousandths === 0 ? 0 : thousandths) / 1000,
      unit: units.gauge,
      flmUnit: units.gauge,
    });
  }
  return out;
}

/**
 * What flxd publishes on /device/<did>/flx/time: both clocks as [s, µs] (the board's has whole
 * seconds only), and which of the two is to be corrected from the other.
 */
export interface FlxTimeReport {
  flm: { time: [number, number]; update: boolean };
  flx: { time: [number, number]; update: boolean };
}

export type BoardTimeDecision =
  | {
      /**
       * The host clock is not valid and the board's is: take board time as the host's time
       * reference (offsetMs = board − host). The caller decides whether to set the system
       * clock; nothing here does.
       */
      action: 'adopt-board-clock';
      boardTime: number;
      offsetMs: number;
      report: FlxTimeReport;
    }
  | {
      /** Both clocks differ by a second or more: send the board the host's time. */
      action: 'step-board';
      hostTime: number;
      /** board − host, seconds */
      driftSeconds: number;
      frame: Uint8Array;
      report: FlxTimeReport;
    }
  | { action: 'none'; reason: 'in-step' | 'no-valid-clock'; report: FlxTimeReport };

/**
 * The time_stamp rules (docs/protocols/sensor-board.md#board-time), as a decision for the caller.
 * flxd sets the system clock from the board when its own is invalid; here that becomes a returned
 * offset, because stepping the host clock is not a sensor daemon's call to make silently. The board
 * is stepped only from a valid host clock, when the two differ by at least a whole second (flxd
 * truncates the difference toward zero).
 */
export function decideBoardTime(boardTime: number, hostMs: number, validAfter = CLOCK_VALID_AFTER): BoardTimeDecision {
  const hostSec = Math.floor(hostMs / 1000);
  const hostUs = Math.floor((hostMs - hostSec * 1000) * 1000);
  const report = (flm: boolean, flx: boolean): FlxTimeReport => ({
    flm: { time: [hostSec, hostUs], update: flm },
    flx: { time: [boardTime, 0], update: flx },
  });
  const hostValid = hostSec > validAfter;
  const boardValid = boardTime > validAfter;
  if (!hostValid) {
    if (!boardValid) return { action: 'none', reason: 'no-valid-clock', report: report(false, false) };
    return { action: 'adopt-board-clock', boardTime, offsetMs: boardTime * 1000 - hostMs, report: report(true, false) };
  }
  const driftMs = boardTime * 1000 - hostMs;
  if (Math.abs(driftMs) < 1000) return { action: 'none', reason: 'in-step', report: report(false, false) };
  return {
    action: 'step-board',
    hostTime: hostSec,
    driftSeconds: Math.trunc(driftMs / 1000),
    frame: timeStepFrame(hostSec),
    report: report(false, true),
  };
}
