import { deriveSensorId } from '../config/identity';
import type { EnergyRegisters, MbusDevice, P1Telegram, Quantity } from './types';

/**
 * A telegram as FLM readings (docs/protocols/p1.md#flm-readings): one electricity sensor with the
 * net counter in Wh (import minus export, so it counts down while exporting) and the net power in W
 * (negative while exporting), and one counter in L per gas or water meter, stamped with the meter's
 * capture time. More sensors, beyond what the FLM had, are opt-in.
 *
 * Unlike the FLM, values are whole Wh / L: each register is rounded before summing, so
 * 1581.123 kWh is exactly 1581123 Wh (the server keeps whole numbers).
 */

export type FlmP1ReadingType = 'electricity' | 'gas' | 'water' | 'heat';

export interface FlmP1Reading {
  /** stable within a meter: "net", "delivered:t1", "l2", "gas:<equipment id>", … */
  key: string;
  type: FlmP1ReadingType;
  kind: 'counter' | 'gauge';
  /** Unix seconds */
  ts: number;
  value: number;
  unit: string;
  /** deriveSensorId(deviceId, meterId + ':' + key): the same across restarts */
  sid: string;
}

export interface FlmReadingOptions {
  /** the FLM device id the sensor ids derive from */
  deviceId: string;
  /** Unix seconds of arrival: the time of telegrams that carry none (DSMR 2.2/3); default now */
  receivedAt?: number;
  /** counters and gauges for import and export apart ("delivered", "returned") */
  directions?: boolean;
  /** a counter per tariff and direction ("delivered:t1", …, "returned:t2") */
  tariffs?: boolean;
  /** net power per phase ("l1", "l2", "l3") */
  phases?: boolean;
  /** Belgian capacity tariff: running quarter-hour demand and the month's peak, in W */
  capacity?: boolean;
}

const ENERGY_TO_WH: Readonly<Record<string, number>> = { Wh: 1, kWh: 1e3, MWh: 1e6, MJ: 1e6 / 3600, GJ: 1e9 / 3600 };
const POWER_TO_W: Readonly<Record<string, number>> = { W: 1, kW: 1e3, MW: 1e6 };
const VOLUME_TO_L: Readonly<Record<string, number>> = { 'm³': 1e3, L: 1, l: 1, dm3: 1 };

const TARIFFS = ['tariff1', 'tariff2', 'tariff3', 'tariff4'] as const;

/**
 * The label a meter's sensor ids hang on: its equipment id, else what else names it. A DSMR
 * 2.2 meter may send none of those, and then all such meters on one device would share ids;
 * that is the FLM's behaviour too (one P1 port per device).
 */
export function meterIdOf(t: P1Telegram): string {
  return t.equipmentId || t.logicalDeviceName || t.serialNumber || t.header.identification || 'p1';
}

export function toFlmReadings(t: P1Telegram, options: FlmReadingOptions): FlmP1Reading[] {
  const meter = meterIdOf(t);
  const ts = t.timestamp?.unix ?? options.receivedAt ?? Math.floor(Date.now() / 1000);
  const out: FlmP1Reading[] = [];
  const push = (
    key: string,
    type: FlmP1ReadingType,
    kind: FlmP1Reading['kind'],
    at: number,
    value: number | null,
    unit: string,
    keyId = '',
  ): void => {
    if (value === null) return;
    out.push({ key, type, kind, ts: at, value, unit, sid: sensorId(options.deviceId, meter, key, type, keyId) });
  };
  const e = t.electricity;

  const delivered = directionWh(e.delivered);
  const returned = directionWh(e.returned);
  if (delivered !== null) push('net', 'electricity', 'counter', ts, delivered - (returned ?? 0), 'Wh');
  push('net', 'electricity', 'gauge', ts, difference(toWatts(e.power.delivered), toWatts(e.power.returned)), 'W');

  if (options.directions) {
    push('delivered', 'electricity', 'counter', ts, delivered, 'Wh');
    push('delivered', 'electricity', 'gauge', ts, toWatts(e.power.delivered), 'W');
    push('returned', 'electricity', 'counter', ts, returned, 'Wh');
    push('returned', 'electricity', 'gauge', ts, toWatts(e.power.returned), 'W');
  }
  if (options.tariffs) {
    TARIFFS.forEach((name, i) => {
      push(`delivered:t${i + 1}`, 'electricity', 'counter', ts, toWh(e.delivered[name]), 'Wh');
      push(`returned:t${i + 1}`, 'electricity', 'counter', ts, toWh(e.returned[name]), 'Wh');
    });
  }
  if (options.phases) {
    (['l1', 'l2', 'l3'] as const).forEach((phase) => {
      const p = e.phases[phase];
      push(phase, 'electricity', 'gauge', ts, difference(toWatts(p?.powerDelivered), toWatts(p?.powerReturned)), 'W');
    });
  }
  if (options.capacity && t.capacity) {
    push('capacity:demand', 'electricity', 'gauge', ts, toWatts(t.capacity.currentAverageDemand), 'W');
    const peak = t.capacity.monthPeak;
    if (peak) push('capacity:peak', 'electricity', 'gauge', ts, toWatts({ value: peak.value, unit: peak.unit }), 'W');
  }

  for (const d of t.mbus) {
    const r = mbusCounter(d);
    const id = d.equipmentId ?? `ch${d.channel}`;
    if (r) push(`${r.type}:${id}`, r.type, 'counter', r.ts, r.value, r.unit, id);
  }
  return out;
}

/**
 * deriveSensorId hashes with SHA-256; a telegram a second asks for the same few ids again and
 * again, so they are remembered (bounded: a long-running flow may see meters come and go).
 * Kept by device, meter and key, so finding one builds no string: an M-Bus key
 * "<type>:<equipment id>" is found by its two parts.
 */
interface MeterSids {
  byKey: Map<string, string>;
  byKeyAndId: Map<string, Map<string, string>>;
}
const sidCache = new Map<string, Map<string, MeterSids>>();
let sidCount = 0;
/** The ids of the meter asked for last: every reading of a telegram is of one meter. */
let lastDevice: string | undefined;
let lastMeter: string | undefined;
let lastSids: MeterSids | undefined;

/** The sensor id of `key` of `meter`; an M-Bus key is "<type>:<keyId>", any other has keyId ''. */
function sensorId(deviceId: string, meter: string, key: string, type: string, keyId: string): string {
  if (deviceId !== lastDevice || meter !== lastMeter || lastSids === undefined) {
    let byMeter = sidCache.get(deviceId);
    if (!byMeter) sidCache.set(deviceId, (byMeter = new Map()));
    let sids = byMeter.get(meter);
    if (!sids) byMeter.set(meter, (sids = { byKey: new Map(), byKeyAndId: new Map() }));
    lastDevice = deviceId;
    lastMeter = meter;
    lastSids = sids;
  }
  let byId = keyId === '' ? undefined : lastSids.byKeyAndId.get(type);
  let sid = keyId === '' ? lastSids.byKey.get(key) : byId?.get(keyId);
  if (sid === undefined) {
    sid = deriveSensorId(deviceId, `${meter}:${key}`);
    if (sidCount >= 1024) {
      sidCache.clear();
      sidCount = 0;
      lastSids = undefined;
      return sid;
    }
    if (keyId === '') lastSids.byKey.set(key, sid);
    else {
      if (!byId) lastSids.byKeyAndId.set(type, (byId = new Map()));
      byId.set(keyId, sid);
    }
    sidCount++;
  }
  return sid;
}

/**
 * Gas and water in L, heat in Wh, at the capture time. Unused slots (no unit, no valid
 * capture time) give nothing: a reading is never made up.
 */
function mbusCounter(d: MbusDevice): { type: FlmP1ReadingType; ts: number; value: number; unit: string } | null {
  const r = d.reading;
  if (!r || !r.capturedAt || r.unit === null) return null;
  if (d.medium === 'gas' || d.medium === 'water') {
    const value = scaled(r, VOLUME_TO_L);
    return value === null ? null : { type: d.medium, ts: r.capturedAt.unix, value, unit: 'L' };
  }
  if (d.medium === 'heat') {
    const value = scaled(r, ENERGY_TO_WH);
    return value === null ? null : { type: 'heat', ts: r.capturedAt.unix, value, unit: 'Wh' };
  }
  return null;
}

/** Sum of the tariff registers when the meter has them, else its total register. */
function directionWh(regs: EnergyRegisters): number | null {
  // Named reads, not a loop over the names: this runs for every telegram.
  const { tariff1, tariff2, tariff3, tariff4 } = regs;
  if (tariff1 === undefined && tariff2 === undefined && tariff3 === undefined && tariff4 === undefined)
    return toWh(regs.total);
  const t1 = tariff1 === undefined ? 0 : toWh(tariff1);
  const t2 = tariff2 === undefined ? 0 : toWh(tariff2);
  const t3 = tariff3 === undefined ? 0 : toWh(tariff3);
  const t4 = tariff4 === undefined ? 0 : toWh(tariff4);
  // Summed from 0, so registers of -0 Wh (a rounded -0.0001 kWh) make 0, as they always have.
  return t1 === null || t2 === null || t3 === null || t4 === null ? null : 0 + t1 + t2 + t3 + t4;
}

const toWh = (q: Quantity | undefined): number | null => scaled(q, ENERGY_TO_WH);
const toWatts = (q: Quantity | undefined): number | null => scaled(q, POWER_TO_W);

function scaled(
  q: { value: number; unit: string | null } | undefined,
  factors: Readonly<Record<string, number>>,
): number | null {
  if (!q || q.unit === null) return null;
  const f = factors[q.unit];
  return f === undefined ? null : Math.round(q.value * f);
}

/** Import minus export; export alone is not a reading of the net (import unknown). */
function difference(plus: number | null, minus: number | null): number | null {
  if (plus === null) return null;
  const v = plus - (minus ?? 0);
  return v === 0 ? 0 : v;
}
