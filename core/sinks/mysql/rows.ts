import { parseSensorTopic, type ReadingKind } from '../../mqtt/topics';
import type { Device } from '../../config/schema';
import { hasMeterUnits, unitsFor } from '../../mqtt/units';

/** One row of the readings table. */
export interface ReadingRow {
  /** 32 lowercase hex characters */
  sid: string;
  kind: ReadingKind;
  /** Unix seconds; the column is INT UNSIGNED */
  ts: number;
  value: number;
}

/** What the sensors table knows of a sensor; null where the source did not say. */
export interface SensorRow {
  sid: string;
  deviceId: string | null;
  name: string | null;
  type: string | null;
  subtype: string | null;
  class: string | null;
  counterUnit: string | null;
  gaugeUnit: string | null;
}

const MAX_TS = 0xffffffff;

/**
 * A reading message as a row, or the reason it is not one. The topic says sensor and kind; the
 * payload is `[ts, value, "unit"]` with whole seconds that fit the column and a finite value.
 */
export function readingRow(topic: string, payload: unknown): ReadingRow | { error: string } {
  const t = parseSensorTopic(topic);
  if (!t) return { error: `not a reading topic: "${topic.slice(0, 80)}"` };
  if (!Array.isArray(payload) || payload.length < 2) return { error: 'payload must be [ts,value,"unit"]' };
  const [ts, value] = payload as unknown[];
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts <= 0 || ts > MAX_TS)
    return { error: `payload ts must be whole Unix seconds, got ${String(ts).slice(0, 20)}` };
  if (typeof value !== 'number' || !Number.isFinite(value))
    return { error: `payload value must be a finite number, got ${String(value).slice(0, 20)}` };
  return { sid: t.sid, kind: t.kind, ts, value };
}

const text = (v: unknown, max: number): string | null => (typeof v === 'string' && v !== '' ? v.slice(0, max) : null);

/** What `msg.flm` of a reading says about its sensor; the unit belongs to the reading's kind. */
export function sensorFromFlm(sid: string, kind: ReadingKind, flm: unknown, payloadUnit?: unknown): SensorRow {
  const f = (flm && typeof flm === 'object' ? flm : {}) as Record<string, unknown>;
  const unit = text(f.unit, 16) ?? text(payloadUnit, 16);
  return {
    sid,
    deviceId: text(f.deviceId, 32),
    name: text(f.name, 64),
    type: text(f.type, 32),
    subtype: text(f.subtype, 16),
    class: text(f.class, 16),
    counterUnit: kind === 'counter' ? unit : null,
    gaugeUnit: kind === 'gauge' ? unit : null,
  };
}

/** The sensors of a device's table (flm-device), with the units their type implies. */
export function sensorsOfDevice(device: Device): SensorRow[] {
  return device.sensors.map((s) => {
    const u = hasMeterUnits(s.type) ? unitsFor(s.type) : undefined;
    return {
      sid: s.id,
      deviceId: device.id,
      name: s.name,
      type: s.type,
      subtype: s.subtype ?? null,
      class: s.class,
      counterUnit: u?.counter ?? null,
      gaugeUnit: u?.gauge ?? null,
    };
  });
}

const SID = /^[0-9a-f]{32}$/;

/**
 * The sensors of a sensor table as published on `/device/<did>/config/sensor` (sections "1",
 * "2", … with id, function, type, class, subtype), from this device or another FLM.
 */
export function sensorsOfConfig(deviceId: string, payload: unknown): SensorRow[] {
  let p = payload;
  if (typeof p === 'string' || Buffer.isBuffer(p)) {
    try {
      p = JSON.parse(String(p));
    } catch {
      return [];
    }
  }
  if (!p || typeof p !== 'object') return [];
  const out: SensorRow[] = [];
  for (const [section, v] of Object.entries(p as Record<string, unknown>)) {
    if (!/^\d+$/.test(section) || !v || typeof v !== 'object') continue;
    const s = v as Record<string, unknown>;
    if (typeof s.id !== 'string' || !SID.test(s.id)) continue;
    const type = text(s.type, 32);
    const u = type && hasMeterUnits(type as never) ? unitsFor(type as never) : undefined;
    out.push({
      sid: s.id,
      deviceId: SID.test(deviceId) ? deviceId : null,
      name: text(s.function, 64),
      type,
      subtype: text(s.subtype, 16),
      class: text(s.class, 16),
      counterUnit: u?.counter ?? null,
      gaugeUnit: u?.gauge ?? null,
    });
  }
  return out;
}

/** `a` with the non-null fields of `b`: several sources fill one sensor in turn. */
export function mergeSensor(a: SensorRow | undefined, b: SensorRow): SensorRow {
  if (!a) return b;
  const out = { ...a };
  for (const k of Object.keys(b) as Array<keyof SensorRow>)
    if (b[k] !== null) (out as Record<string, unknown>)[k] = b[k];
  return out;
}

export function sameSensor(a: SensorRow | undefined, b: SensorRow): boolean {
  if (!a) return false;
  return (Object.keys(b) as Array<keyof SensorRow>).every((k) => a[k] === b[k]);
}
