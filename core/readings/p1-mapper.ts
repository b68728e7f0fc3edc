import type { Device, Sensor } from '../config/schema';
import type { P1Telegram } from '../p1/types';
import { toFlmReadings, type FlmP1Reading } from '../p1/flm-readings';
import { MeterRateGauges } from '../p1/meter-rate';
import type { Reading } from './computer';
import { EmitRules } from './emit-rules';
import { P1TotalsGuard, type P1Limits } from './p1-totals-guard';

export interface P1Result {
  readings: Reading[];
  heldBack: boolean;
  /** registers of this telegram held for plausibility (p1-totals-guard.ts), and why */
  held: number;
  reasons: string[];
  /** held values that later telegrams confirmed */
  notices: string[];
  /** sensors this telegram derived for the first time (no cosem table): the device registers them */
  derived: Sensor[];
}

export interface P1MapperOptions {
  limits?: P1Limits;
  /** host clock, ms */
  now?: () => number;
}

/**
 * P1 telegrams as FLM readings of the device's cosem sensors: a sensor's `p1` key names the
 * reading it takes ("net", "delivered:t1", "l1", "capacity:peak"; "gas", "water", "heat" take
 * the first such M-Bus meter, "gas:<equipment id>" a given one). Counters and gauges go out
 * by the same rules as board sensors.
 *
 * With no cosem sensor in the table, the meter's registers become sensors by themselves, under
 * ids derived from the device and the meter's equipment id (the same after a restart), so a P1
 * cable works before anyone edits a table: what Home Assistant's Energy dashboard needs.
 */
export class P1ReadingMapper {
  private readonly cosem: Sensor[];
  private readonly rules = new EmitRules();
  private readonly rates = new MeterRateGauges();
  private readonly auto = new Map<string, Sensor>();
  readonly guard: P1TotalsGuard;

  constructor(
    private readonly device: Device,
    options: P1MapperOptions = {},
  ) {
    this.guard = new P1TotalsGuard(options.limits, options.now);
    this.cosem = device.sensors.filter((s) => s.enable && s.class === 'cosem' && s.p1);
  }

  process(t: P1Telegram, receivedAt: number): P1Result {
    const screened = this.guard.screen(
      toFlmReadings(t, {
        deviceId: this.device.id,
        receivedAt,
        directions: true,
        tariffs: true,
        phases: true,
        capacity: true,
      }),
    );
    const all = screened.pass;
    const rated = [...all, ...this.rates.update(all)];
    const heldBack = rated.some((r) => r.ts <= this.device.validAfter);
    const readings: Reading[] = [];
    const derived: Sensor[] = [];
    for (const r of rated) {
      if (r.ts <= this.device.validAfter) continue;
      const sensor = this.sensorFor(r, derived);
      if (!sensor) continue;
      const ok = r.kind === 'gauge' ? this.rules.gauge(sensor.id, r.ts) : this.rules.counter(sensor.id, r.ts, r.value);
      if (ok) readings.push({ sid: sensor.id, kind: r.kind, ts: r.ts, value: r.value, unit: r.unit, sensor });
    }
    return { readings, heldBack, held: screened.held, reasons: screened.reasons, notices: screened.notices, derived };
  }

  private sensorFor(r: FlmP1Reading, derived: Sensor[]): Sensor | undefined {
    if (this.cosem.length === 0) return this.autoSensor(r, derived);
    const [medium] = r.key.split(':');
    return (
      this.cosem.find((s) => s.p1 === r.key) ??
      this.cosem.find((s) => s.p1 === medium && (medium === 'gas' || medium === 'water' || medium === 'heat'))
    );
  }

  /** The default set without a table: net, import and export (total and per tariff), every M-Bus meter. */
  private autoSensor(r: FlmP1Reading, derived: Sensor[]): Sensor | undefined {
    let s = this.auto.get(r.sid);
    if (!s) {
      const name = autoName(r.key);
      if (!name) return undefined;
      s = {
        n: 0,
        id: r.sid,
        name,
        type: r.type,
        class: 'cosem',
        port: [],
        enable: true,
        data_type: 'counter',
        rid: 0,
        p1: r.key,
      };
      this.auto.set(r.sid, s);
      derived.push(s);
    }
    return s;
  }
}

const DIRECTION_NAMES: Readonly<Record<string, string>> = {
  net: 'grid',
  delivered: 'grid import',
  returned: 'grid export',
};

/** "grid", "grid import", "grid export t2", "gas", …; undefined for readings without a default sensor. */
function autoName(key: string): string | undefined {
  const [medium, sub] = key.split(':') as [string, string | undefined];
  if (medium === 'gas' || medium === 'water' || medium === 'heat') return medium;
  const base = DIRECTION_NAMES[medium];
  if (!base || (sub !== undefined && (medium === 'net' || !/^t[1-4]$/.test(sub)))) return undefined;
  return sub === undefined ? base : `${base} ${sub}`;
}

/** Enough of a P1Telegram's shape to map it (it comes from flm-p1, or from anyone's flow). */
export function isP1Telegram(x: unknown): x is P1Telegram {
  const t = x as Partial<P1Telegram> | null;
  return (
    !!t &&
    typeof t === 'object' &&
    !!t.electricity &&
    typeof t.electricity === 'object' &&
    !!t.electricity.delivered &&
    !!t.electricity.returned &&
    !!t.electricity.power &&
    Array.isArray(t.mbus) &&
    !!t.header
  );
}
