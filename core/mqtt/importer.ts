import type { Sensor } from '../config/schema';
import { validateFlmSensorConfig, describeAjvErrors } from '../config/wire';
import { flmUnit } from './units';
import type { Clock } from '../util/clock';
import { parseDeviceConfig, type RemoteSensor } from './device-config';
import { decodeLooseReading, type LooseReading } from './payload';
import { deviceConfigTopic, parseDeviceConfigTopic, parseSensorTopic, sensorTopic, type ReadingKind } from './topics';

/** What flm-sensor puts in msg.flm; here the name and type come from the FLM's config topic. */
export interface ImportedFlm {
  sid: string;
  kind: ReadingKind;
  name?: string;
  type?: string;
  subtype?: string;
  /** the class in the FLM's sensor table (analog, pulse, cosem, kube …), when it gives one */
  class?: string;
  unit: string;
  deviceId?: string;
}

/** A reading in the package's message contract (docs/protocols/flm-mqtt.md#topics-inside-a-flow), ready to send. */
export interface ImportedReading {
  topic: string;
  payload: [number, number, string];
  retain: true;
  qos: 0;
  flm: ImportedFlm;
}

/** The sensor table of a device, passed on as flm-sensor passes its own. */
export interface ImportedConfig {
  topic: string;
  payload: Record<string, unknown>;
  retain: true;
  qos: 0;
}

export interface ImporterOptions {
  clock: Clock;
  /** how long readings of sensors no config names wait for one after connecting, ms (default 5000) */
  graceMs?: number;
  /** retained readings replayed at subscribe: skipped (default, as tmpod does) or passed */
  retained?: 'skip' | 'pass';
  /** readings held at most (newest per sensor and kind); past that they pass as unknown */
  maxHeld?: number;
}

export type ReadingOutcome =
  | { kind: 'out'; message: ImportedReading }
  /** an unknown sensor's reading during the grace period: it goes out with its config, or when the grace ends */
  | { kind: 'held' }
  | { kind: 'skipped'; why: 'retained' };

export interface ConfigOutcome {
  deviceId: string;
  /** the table to pass on; absent when the retained config was cleared */
  message?: ImportedConfig;
  sensors: number;
  skipped: string[];
  /** held readings this config names */
  released: ImportedReading[];
}

interface Known extends RemoteSensor {
  deviceId: string;
}

interface Held {
  sid: string;
  kind: ReadingKind;
  reading: LooseReading;
}

/**
 * Turns what an FLM broker carries into readings of the message contract: learns sensor names
 * and types from each device's retained `/device/<did>/config/sensor`, accepts the payload forms
 * FLM users publish, and decides what to do with readings of sensors no config names.
 *
 * Unknown sensors: the retained configs arrive right after subscribing, but not necessarily
 * before the first readings; so for `graceMs` after the first connection such readings wait
 * (newest per sensor and kind), then go out with what is known (sid, kind, unit: no name, no
 * type, no device). One whose payload carries no unit cannot go out then, and is an error.
 */
export class ReadingImporter {
  private readonly sensors = new Map<string, Known>();
  private readonly byDevice = new Map<string, string[]>();
  private readonly held = new Map<string, Held>();
  private graceUntil?: number;
  private readonly graceMs: number;
  private readonly maxHeld: number;

  constructor(private readonly opts: ImporterOptions) {
    this.graceMs = opts.graceMs ?? 5000;
    this.maxHeld = opts.maxHeld ?? 1000;
  }

  get sensorCount(): number {
    return this.sensors.size;
  }

  get deviceCount(): number {
    return this.byDevice.size;
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** The connection is up; the first time, the grace period for unknown sensors starts. Returns when it ends. */
  connected(): number {
    this.graceUntil ??= this.opts.clock.now() + this.graceMs;
    return this.graceUntil;
  }

  private inGrace(): boolean {
    return this.graceUntil === undefined || this.opts.clock.now() < this.graceUntil;
  }

  /** A message on a config topic; throws with a clear message when it is not a sensor table. */
  config(topic: string, raw: string | Uint8Array): ConfigOutcome {
    const deviceId = parseDeviceConfigTopic(topic);
    if (!deviceId)
      throw new Error(`not a sensor config topic: "${topic.slice(0, 80)}" (expected /device/<32 hex>/config/sensor)`);
    const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
    for (const sid of this.byDevice.get(deviceId) ?? []) this.sensors.delete(sid);
    this.byDevice.delete(deviceId);
    if (text.trim() === '') return { deviceId, sensors: 0, skipped: [], released: [] };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`sensor config of device ${deviceId} is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
    }
    if (!validateFlmSensorConfig(json)) {
      throw new Error(
        `sensor config of device ${deviceId} is not an FLM sensor table: ${describeAjvErrors(validateFlmSensorConfig.errors)}`,
      );
    }
    const parsed = parseDeviceConfig(json as Record<string, Record<string, unknown>>);
    for (const s of parsed.sensors) this.sensors.set(s.id, { ...s, deviceId });
    this.byDevice.set(
      deviceId,
      parsed.sensors.map((s) => s.id),
    );
    const released: ImportedReading[] = [];
    for (const [key, h] of this.held) {
      if (!this.sensors.has(h.sid)) continue;
      this.held.delete(key);
      released.push(this.message(h.sid, h.kind, h.reading));
    }
    return {
      deviceId,
      message: { topic: deviceConfigTopic(deviceId), payload: json as Record<string, unknown>, retain: true, qos: 0 },
      sensors: parsed.sensors.length,
      skipped: parsed.skipped,
      released,
    };
  }

  /** A message on a reading topic; throws with a clear message on a payload of no known form. */
  reading(topic: string, raw: string | Uint8Array, retained: boolean): ReadingOutcome {
    const t = parseSensorTopic(topic);
    if (!t)
      throw new Error(`not a reading topic: "${topic.slice(0, 80)}" (expected /sensor/<32 hex>/gauge or /counter)`);
    const reading = decodeLooseReading(raw, Math.floor(this.opts.clock.now() / 1000));
    if (retained && (this.opts.retained ?? 'skip') === 'skip') return { kind: 'skipped', why: 'retained' };
    if (
      !this.sensors.has(t.sid) &&
      this.inGrace() &&
      (this.held.size < this.maxHeld || this.held.has(`${t.sid}/${t.kind}`))
    ) {
      this.held.set(`${t.sid}/${t.kind}`, { sid: t.sid, kind: t.kind, reading });
      return { kind: 'held' };
    }
    return { kind: 'out', message: this.message(t.sid, t.kind, reading) };
  }

  /** The grace period is over: held readings go out with what is known; those without a unit are errors. */
  releaseHeld(): { out: ImportedReading[]; errors: Error[] } {
    const out: ImportedReading[] = [];
    const errors: Error[] = [];
    for (const h of this.held.values()) {
      try {
        out.push(this.message(h.sid, h.kind, h.reading));
      } catch (err) {
        errors.push(err as Error);
      }
    }
    this.held.clear();
    return { out, errors };
  }

  private message(sid: string, kind: ReadingKind, r: LooseReading): ImportedReading {
    const s = this.sensors.get(sid);
    const unit =
      r.unit ??
      (s
        ? flmUnit(
            { type: s.type as Sensor['type'], ...(s.subtype ? { subtype: s.subtype as Sensor['subtype'] } : {}) },
            kind,
          )
        : undefined);
    if (unit === undefined) {
      throw new Error(
        `reading of sensor ${sid} has no unit, and no sensor config names that sensor: publish [ts,value,"unit"] or [value,"unit"]`,
      );
    }
    const flm: ImportedFlm = { sid, kind, unit };
    if (s) {
      flm.name = s.name;
      flm.type = s.type;
      if (s.subtype) flm.subtype = s.subtype;
      if (s.class) flm.class = s.class;
      flm.deviceId = s.deviceId;
    }
    return { topic: sensorTopic(sid, kind), payload: [r.ts, r.value, unit], retain: true, qos: 0, flm };
  }
}
