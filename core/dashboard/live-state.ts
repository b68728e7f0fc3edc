import { parseSensorTopic, parseDeviceConfigTopic, type ReadingKind } from '../mqtt/topics';
import { BOARD_BATCH_TOPIC, boardBatchSchema } from '../mqtt/board-batch';
import { parseDeviceConfig } from '../mqtt/device-config';
import { sensorRole, type SensorRole } from './roles';

/**
 * What the dashboard shows live: the latest reading of each sensor and, for FLM03 boards, the
 * latest gauges of each clamp port. It takes the messages flm-tmpo and flm-homeassistant take
 * (docs/architecture.md#from-a-serial-byte-to-a-reading): readings on /sensor/<sid>/gauge|counter
 * with `msg.flm`, the sensor table on /device/<did>/config/sensor, and the board's own batches
 * (board/batch), whose clamp records carry voltage, current and power factor that no reading does.
 */

export interface LiveReading {
  ts: number;
  value: number;
  unit: string;
}

export interface LiveSensor {
  sid: string;
  name: string;
  type: string;
  role: SensorRole;
  gauge?: LiveReading;
  counter?: LiveReading;
  /** the first counter this dashboard saw: what today's use counts from while the store has no history yet */
  firstCounter?: LiveReading;
}

/** One clamp port of an FLM03 board: its latest gauges by clamp parameter (pplus, vrms, irms, pf, …). */
export interface LivePort {
  port: number;
  /** Unix seconds of the batch */
  ts: number;
  values: Record<string, number>;
}

/** What changed, as the event stream sends it. */
export type LiveChange =
  | { event: 'reading'; data: { sid: string; kind: ReadingKind } & LiveReading }
  | { event: 'sensors'; data: LiveSensor[] }
  | { event: 'port'; data: LivePort };

/** A sensor as the device table or a reading's `msg.flm` describes it. */
export interface SensorInfo {
  id?: string | undefined;
  name: string;
  type: string;
  p1?: string | undefined;
  enable?: boolean | undefined;
}

/** Beyond this many sensors or ports a flood of made-up ids is ignored (the FLM's table holds 128). */
const MAX_SENSORS = 256;
const MAX_PORTS = 16;

export class LiveState {
  private readonly sensors = new Map<string, LiveSensor>();
  private readonly ports = new Map<number, LivePort>();

  /** Replace what is known of the device's sensors (readings already seen are kept). */
  setSensors(list: readonly SensorInfo[]): LiveChange {
    for (const s of list) if (s.id && s.enable !== false) this.describe(s.id, s);
    return { event: 'sensors', data: this.sensorList() };
  }

  /**
   * Take one message; returns what changed (nothing for messages the dashboard has no use for).
   * Throws on a reading whose payload is not `[ts, value, "unit"]`.
   */
  handle(topic: string, payload: unknown, flm?: unknown): LiveChange[] {
    const reading = parseSensorTopic(topic);
    if (reading) return this.reading(reading.sid, reading.kind, payload, flm);
    if (parseDeviceConfigTopic(topic)) return this.table(payload);
    if (topic === BOARD_BATCH_TOPIC) return this.batch(payload);
    return [];
  }

  snapshot(): { sensors: LiveSensor[]; ports: LivePort[] } {
    return { sensors: this.sensorList(), ports: [...this.ports.values()].sort((a, b) => a.port - b.port) };
  }

  private sensorList(): LiveSensor[] {
    return [...this.sensors.values()];
  }

  private describe(sid: string, info: SensorInfo): LiveSensor | undefined {
    const known = this.sensors.get(sid);
    if (!known && this.sensors.size >= MAX_SENSORS) return undefined;
    const next: LiveSensor = { ...known, sid, name: info.name, type: info.type, role: sensorRole(info) };
    this.sensors.set(sid, next);
    return next;
  }

  private reading(sid: string, kind: ReadingKind, payload: unknown, flm: unknown): LiveChange[] {
    if (!isReadingPayload(payload)) throw new Error(`${kind} of ${sid}: payload must be [ts, value, "unit"]`);
    const [ts, value, unit] = payload;
    const out: LiveChange[] = [];
    let sensor = this.sensors.get(sid);
    const described = describedBy(flm);
    if (described && (!sensor || sensor.name !== described.name || sensor.type !== described.type)) {
      sensor = this.describe(sid, described);
      out.push({ event: 'sensors', data: this.sensorList() });
    }
    sensor ??= this.describe(sid, { name: sid.slice(0, 8), type: unit === 'W' || unit === 'Wh' ? 'electricity' : '' });
    if (!sensor) return out;
    sensor[kind] = { ts, value, unit };
    if (kind === 'counter') sensor.firstCounter ??= { ts, value, unit };
    out.push({ event: 'reading', data: { sid, kind, ts, value, unit } });
    return out;
  }

  private table(payload: unknown): LiveChange[] {
    let config: unknown = payload;
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) config = JSON.parse(String(payload));
    if (!config || typeof config !== 'object') throw new Error('sensor table must be a JSON object');
    const { sensors } = parseDeviceConfig(config as Record<string, Record<string, unknown>>);
    return [this.setSensors(sensors)];
  }

  private batch(payload: unknown): LiveChange[] {
    const batch = boardBatchSchema.parse(payload);
    const touched = new Set<LivePort>();
    for (const r of batch.records) {
      if (r.kind !== 'gauge' || r.port === undefined || r.subtype === undefined) continue;
      let port = this.ports.get(r.port);
      if (!port) {
        if (this.ports.size >= MAX_PORTS) continue;
        port = { port: r.port, ts: 0, values: {} };
        this.ports.set(r.port, port);
      }
      port.ts = Math.floor(batch.time / 1000);
      port.values[r.subtype] = r.value;
      touched.add(port);
    }
    return [...touched].map((p) => ({ event: 'port', data: { ...p, values: { ...p.values } } }));
  }
}

function isReadingPayload(p: unknown): p is [number, number, string] {
  return (
    Array.isArray(p) &&
    p.length === 3 &&
    Number.isFinite(p[0]) &&
    Number.isFinite(p[1]) &&
    typeof p[2] === 'string' &&
    p[2].length <= 16
  );
}

/** The sensor `msg.flm` describes (flm-sensor and flm-in set name and type), if any. */
function describedBy(flm: unknown): SensorInfo | undefined {
  if (!flm || typeof flm !== 'object') return undefined;
  const { name, type, p1 } = flm as Record<string, unknown>;
  if (typeof name !== 'string' || typeof type !== 'string') return undefined;
  return { name: name.slice(0, 64), type: type.slice(0, 32), p1: typeof p1 === 'string' ? p1 : undefined };
}
