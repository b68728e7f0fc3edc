import { round3 } from '../mqtt/payload';
import type { FlmP1Reading } from './flm-readings';

/**
 * Gauges for M-Bus meters, which report only counters: the FLM derives L/day from counter deltas as
 * it does for pulse sensors (docs/protocols/p1.md#flm-readings). Gas in DSMR 5 updates every 5
 * minutes (hourly in DSMR 4), so the gauge is the average flow between two captures, stamped at the
 * later one. Electricity has real power on the telegram and is left alone.
 */

/** counter unit per second → gauge unit */
const GAUGE: Readonly<Record<string, { unit: string; factor: number }>> = {
  gas: { unit: 'L/day', factor: 86_400 },
  water: { unit: 'L/day', factor: 86_400 },
  heat: { unit: 'W', factor: 3_600 },
};

export class MeterRateGauges {
  private readonly last = new Map<string, { ts: number; value: number }>();

  /** The gauges that the new captures among `readings` give; none for a meter's first capture. */
  update(readings: readonly FlmP1Reading[]): FlmP1Reading[] {
    const out: FlmP1Reading[] = [];
    for (const r of readings) {
      const g = GAUGE[r.type];
      if (!g || r.kind !== 'counter') continue;
      const prev = this.last.get(r.sid);
      // The same capture repeats in every telegram until the meter sends a new one.
      if (prev && r.ts <= prev.ts) continue;
      this.last.set(r.sid, { ts: r.ts, value: r.value });
      // A counter that went back is a replaced meter: start over rather than report a negative flow.
      if (!prev || r.value < prev.value) continue;
      const value = round3(((r.value - prev.value) / (r.ts - prev.ts)) * g.factor);
      out.push({ ...r, kind: 'gauge', value, unit: g.unit });
    }
    return out;
  }

  reset(): void {
    this.last.clear();
  }
}
