import type { Sensor } from './schema';

/**
 * What a sensor can physically do, generously: the yardstick for totals and gauges that a corrupted
 * byte may have changed (docs/protocols/flm-mqtt.md#computation). The margins are wide on purpose:
 * a real reading outside them would be lost, while a corrupted one inside them costs at most a
 * small, bounded error (see counter-guard.ts and core/flx/gauge-sanity.ts).
 */

/** The board's default clamp rating when the sensor table names none (flm03-port-config). */
export const DEFAULT_CLAMP_A = 50;
export const DEFAULT_VOLTAGE = 230;
/**
 * Power a clamp can see, as a multiple of rating × voltage: a clamp driven past its rating,
 * mains 10 % high, and a line-to-line voltage (400 V) on a three-wire system all fit under 2.
 */
const CLAMP_POWER_MARGIN = 2;
/**
 * Most pulses a second a pulse input is taken to count. An S0 output (IEC 62053-31) needs at
 * least 30 ms on and 30 ms off, under 17 pulses a second; 50 leaves room for a fast optical head.
 */
const MAX_PULSES_PER_S = 50;

/**
 * Most power one clamp port can report, W (var and VA alike: reactive power is at most the
 * apparent power): rating × voltage × margin × phases. Phases count because the board can be
 * set to sum the clamps of a three-phase device into one port.
 */
export function clampMaxWatts(s: Pick<Sensor, 'current' | 'voltage'> | undefined, phase: 1 | 3): number {
  return (s?.current ?? DEFAULT_CLAMP_A) * (s?.voltage ?? DEFAULT_VOLTAGE) * CLAMP_POWER_MARGIN * phase;
}

export interface TotalLimit {
  /** most a running total can grow in one second, in counter units (Wh, varh, L, …) */
  perSecond: number;
  /** thousandths of a unit per pulse (pulse meters): growth is a whole number of pulses */
  pulseMilli?: number;
  /** the limit in words, for reasons a person reads */
  what: string;
}

/** How fast a sensor's running total can grow: a clamp's most power, or a pulse meter's most pulses. */
export function totalLimit(s: Sensor, phase: 1 | 3): TotalLimit {
  if (s.class === 'pulse') {
    const milli = Math.round((s.constant ?? 1) * 1000);
    return {
      perSecond: (milli / 1000) * MAX_PULSES_PER_S,
      pulseMilli: milli,
      what: `${MAX_PULSES_PER_S} pulses/s of ${milli / 1000}`,
    };
  }
  const watts = clampMaxWatts(s, phase);
  return {
    perSecond: watts / 3600,
    what: `${Math.round(watts / 1000)} kW (${s.current ?? DEFAULT_CLAMP_A} A × ${s.voltage ?? DEFAULT_VOLTAGE} V × ${CLAMP_POWER_MARGIN}${phase === 3 ? ' × 3 phases' : ''})`,
  };
}
