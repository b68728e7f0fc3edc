import { prng } from '../../../core/util/prng';
import type { SensorKind } from './flavours';

/**
 * What an emulated household consumes: a counter per sensor (Wh for electricity and solar, litres
 * for gas and water), sampled every `stepSec` of emulated time. As fluksod, a sample becomes a
 * reading only when the integer counter changed since the last one (docs/protocols/flm-mqtt.md#when-a-reading-goes-out),
 * so a quiet meter (solar at night, water while nobody is home) sends nothing.
 */

export interface Reading {
  sid: string;
  ts: number;
  counter: number;
}

/** Mean rate per kind and hour of day (W for electricity, L/h for gas and water). */
function rate(kind: SensorKind, ts: number, dice: () => number): number {
  const hour = (ts % 86400) / 3600;
  switch (kind) {
    case 'electricity':
      return 120 + 400 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI)) + 600 * dice() ** 8;
    case 'solar':
      return hour > 6 && hour < 19 ? 1800 * Math.sin(((hour - 6) / 13) * Math.PI) * (0.7 + 0.3 * dice()) : 0;
    case 'gas':
      return hour > 6 && hour < 23 ? 400 * dice() ** 3 : 0;
    case 'water':
      return dice() < 0.15 ? 500 * dice() : 0;
  }
}

export class SensorModel {
  private energy: number;
  private last: number | undefined;
  private readonly dice: () => number;

  constructor(
    readonly sid: string,
    readonly kind: SensorKind,
    /** counter units per pulse: a pulse meter moves in whole pulses */
    private readonly constant: number,
    seed: number,
  ) {
    this.dice = prng(seed);
    this.energy = Math.floor(this.dice() * 1e6);
  }

  /** Advance `dt` seconds to `ts`; the reading, when the counter moved. */
  sample(ts: number, dt: number): Reading | undefined {
    this.energy += (rate(this.kind, ts, this.dice) * dt) / 3600;
    const counter = Math.floor(this.energy / this.constant) * this.constant;
    if (counter === this.last) return undefined;
    this.last = counter;
    return { sid: this.sid, ts, counter };
  }
}

/** A time window [from, to) of emulated seconds. */
export interface Window {
  from: number;
  to: number;
}

export const inWindow = (ws: readonly Window[], ts: number): boolean => ws.some((w) => ts >= w.from && ts < w.to);
