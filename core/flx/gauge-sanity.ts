import type { Sensor } from '../config/schema';
import { clampMaxWatts, DEFAULT_CLAMP_A, DEFAULT_VOLTAGE } from '../config/limits';
import { CT_PARAMETERS, type CtParameter } from './flm03-messages';

/**
 * What a clamp's gauges can be (docs/protocols/sensor-board.md#flm03-plausibility): a byte of a
 * Q20.11 gauge flipped between 0x00 and 0xFF passes the frame checksum and moves the value by
 * ±255/2048, ±31.875, ±8160 or across the sign. The two small steps cannot be told from a real
 * change; the others land outside what the clamp can measure, and such a gauge is dropped (the
 * counters of the frame still count: they are checked on their own).
 *
 * - pplus, pminus: 0 ≤ P ≤ the clamp's most power (limits.ts), and P ≤ 1.25 × vrms × irms + 50 W
 *   (real power never exceeds apparent power; the slack covers the board's rounding and a
 *   voltage measured on another phase). The second test is skipped when vrms or irms is itself
 *   out of range.
 * - q1..q4: |Q| within the same two bounds (reactive power is at most the apparent power).
 * - vrms: 0..2 × the nominal voltage (sensor voltage, default 230 V; 2 covers a line-to-line 400 V).
 * - irms: 0..2 × the clamp rating.
 * - pf: −1..1 (one Q20.11 step of slack); vthd, ithd: 0..100; alpha: −360..360°.
 */

export interface ClampRange {
  ratingA: number;
  voltage: number;
  maxWatts: number;
}

const APPARENT_SLACK = 1.25;
const APPARENT_SLACK_W = 50;
const PF_SLACK = 1 / 2048;

/** Per clamp port (1–3): the range its gauges must fall in, from the first enabled analog sensor on it. */
export function clampRanges(sensors: readonly Sensor[], phase: 1 | 3): Map<number, ClampRange> {
  const out = new Map<number, ClampRange>();
  for (const port of [1, 2, 3]) {
    const s = sensors.find((x) => x.enable && x.class === 'analog' && x.port.includes(port));
    out.set(port, {
      ratingA: s?.current ?? DEFAULT_CLAMP_A,
      voltage: s?.voltage ?? DEFAULT_VOLTAGE,
      maxWatts: clampMaxWatts(s, phase),
    });
  }
  return out;
}

/** For each of the 12 gauges of one ct_data, in CT_PARAMETERS order: can the clamp have measured it? */
export function plausibleGauges(values: readonly number[], range: ClampRange): boolean[] {
  const at = (p: CtParameter): number => values[CT_PARAMETERS.indexOf(p)]!;
  const vrms = at('vrms');
  const irms = at('irms');
  const vOk = vrms >= 0 && vrms <= 2 * range.voltage;
  const iOk = irms >= 0 && irms <= 2 * range.ratingA;
  const apparent = vOk && iOk ? APPARENT_SLACK * vrms * irms + APPARENT_SLACK_W : Infinity;
  const power = (x: number, signed: boolean): boolean =>
    (signed || x >= 0) && Math.abs(x) <= range.maxWatts && Math.abs(x) <= apparent;
  return CT_PARAMETERS.map((p, i) => {
    const x = values[i]!;
    switch (p) {
      case 'pplus':
      case 'pminus':
        return power(x, false);
      case 'q1':
      case 'q2':
      case 'q3':
      case 'q4':
        return power(x, true);
      case 'vrms':
        return vOk;
      case 'irms':
        return iOk;
      case 'pf':
        return Math.abs(x) <= 1 + PF_SLACK;
      case 'vthd':
      case 'ithd':
        return x >= 0 && x <= 100;
      case 'alpha':
        return Math.abs(x) <= 360;
    }
  });
}
