import type { Device, Sensor } from '../config/schema';

/**
 * The sensor table as the FLM publishes it on /device/<did>/config/sensor
 * (docs/protocols/flm-mqtt.md#sensor-table): one object keyed by section, "main" plus "1", "2", …,
 * with the uci option names. Unlike the FLM, ids stay strings even when they happen to be all
 * digits.
 */
export function buildDeviceConfig(device: Device): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {
    main: { phase: device.phase, max_provisioned_sensors: device.sensors.length },
  };
  for (const s of [...device.sensors].sort((a, b) => a.n - b.n)) out[String(s.n)] = buildSensorSection(s);
  return out;
}

export function buildSensorSection(s: Sensor): Record<string, unknown> {
  const sec: Record<string, unknown> = {
    id: s.id,
    type: s.type,
    function: s.name,
    class: s.class,
    enable: s.enable ? 1 : 0,
  };
  if (s.port.length) sec.port = [...s.port];
  if (s.constant !== undefined) sec.constant = s.constant;
  if (s.voltage !== undefined) sec.voltage = s.voltage;
  if (s.current !== undefined) sec.current = s.current;
  if (s.subtype !== undefined) sec.subtype = s.subtype;
  if (s.p1 !== undefined) sec.p1 = s.p1;
  if (s.kid !== undefined) sec.kid = s.kid;
  sec.data_type = s.data_type;
  sec.rid = s.rid;
  return sec;
}

/** A sensor as another FLM describes it on its config topic. */
export interface RemoteSensor {
  id: string;
  /** the uci `function`: what the owner called it ("main", "solar", "smart-main") */
  name: string;
  type: string;
  class?: string;
  subtype?: string;
  enable: boolean;
  dataType: 'counter' | 'gauge';
  rid: number;
}

export interface ParsedDeviceConfig {
  sensors: RemoteSensor[];
  /** sections that could not be used, and why (shown once, not fatal) */
  skipped: string[];
}

const HEX32 = /^[0-9a-f]{32}$/;

/**
 * Read a sensor table published on /device/<did>/config/sensor
 * (docs/protocols/flm-mqtt.md#sensor-table): by this package or by a real FLM, whose tmpod writes
 * every number-looking uci value as a JSON number. The caller has checked the JSON against
 * flmSensorConfigSchema (core/config/wire.ts).
 */
export function parseDeviceConfig(config: Record<string, Record<string, unknown>>): ParsedDeviceConfig {
  const sensors: RemoteSensor[] = [];
  const skipped: string[] = [];
  for (const [section, sec] of Object.entries(config)) {
    if (!/^[0-9]+$/.test(section)) continue;
    const id = sec.id;
    if (typeof id === 'number') {
      // tmpod's quirk: an all-digit id became a float and lost digits; it cannot be matched.
      skipped.push(
        `sensor ${section}: its id was published as a number (${id}), which loses digits; its readings pass as unknown`,
      );
      continue;
    }
    if (typeof id !== 'string' || !HEX32.test(id)) {
      skipped.push(`sensor ${section}: no 32-hex id`);
      continue;
    }
    if (typeof sec.type !== 'string') {
      skipped.push(`sensor ${section} (${id}): no type`);
      continue;
    }
    const enable = sec.enable === 1 || sec.enable === '1' || sec.enable === true;
    const s: RemoteSensor = {
      id,
      name: sec.function === undefined ? `sensor ${section}` : String(sec.function),
      type: sec.type,
      enable,
      dataType: sec.data_type === 'gauge' ? 'gauge' : 'counter',
      rid: typeof sec.rid === 'number' ? sec.rid : 0,
    };
    if (typeof sec.class === 'string') s.class = sec.class;
    if (typeof sec.subtype === 'string') s.subtype = sec.subtype;
    sensors.push(s);
  }
  return { sensors, skipped };
}
