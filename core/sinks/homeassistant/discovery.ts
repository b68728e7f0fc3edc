import { SENSOR_CLASSES, type Sensor } from '../../config/schema';
import { sensorTopic, type ReadingKind } from '../../mqtt/topics';
import { haClass } from '../../mqtt/quantity';
import { flmUnit, readingKinds } from '../../mqtt/units';
import { valueTemplate } from './mapping';

/**
 * Home Assistant MQTT discovery for FLM sensors (docs/protocols/flm-mqtt.md#home-assistant):
 * one retained config per entity on `<prefix>/sensor/<deviceid>/<sid>_<kind>/config`, whose
 * state topic is the FLM reading topic itself, so HA reads what the broker already carries.
 * unique_ids are `<deviceid>_<sid>_<gauge|counter>` as flukso-hacs makes them.
 */

export const DEFAULT_PREFIX = 'homeassistant';
const BIRTH_TOPIC = 'homeassistant/status';
export const ONLINE = 'online';
export const OFFLINE = 'offline';
const MANUFACTURER = 'Flukso';

/** A sensor as the builders see it: a row of the device's table, or one learnt from readings. */
export interface HaSensorSource {
  id: string;
  name: string;
  type: Sensor['type'] | string;
  class?: Sensor['class'];
  subtype?: Sensor['subtype'];
  p1?: string;
  enable?: boolean;
  /** the readings to announce; default: what the sensor publishes (readingKinds) */
  kinds?: ReadingKind[];
  /** units seen on the wire, where they differ from the defaults (flmUnit) */
  units?: Partial<Record<ReadingKind, string>>;
  /** a counter that can go down (P1 net import − export); default: cosem with p1 "net" or no key */
  net?: boolean;
}

export interface DiscoveryOptions {
  /** discovery prefix; default `homeassistant` */
  prefix?: string;
  /** HA device name; default `Fluksometer <first 8 hex of the id>` */
  deviceName?: string;
  model?: string;
  swVersion?: string;
  /** origin block (package name and version) */
  origin?: { name: string; sw_version?: string; support_url?: string };
}

export interface HaDevice {
  identifiers: string[];
  name: string;
  manufacturer?: string;
  model?: string;
  sw_version?: string;
  via_device?: string;
}

/** The config payload of one MQTT sensor, with HA's full (unabbreviated) field names. */
export interface HaSensorConfig {
  name: string;
  unique_id: string;
  state_topic: string;
  value_template: string;
  device_class?: string;
  state_class?: string;
  unit_of_measurement?: string;
  suggested_display_precision?: number;
  entity_category?: string;
  availability_topic: string;
  payload_available: string;
  payload_not_available: string;
  device: HaDevice;
  origin?: { name: string; sw_version?: string; support_url?: string };
}

export interface DiscoveryConfig {
  topic: string;
  payload: HaSensorConfig;
}

/** An MQTT message ready for flm-broker or a core `mqtt out` node. */
export interface HaMqttMessage {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
}

const PREFIX = /^[^#+\s]+$/;

/** A usable discovery prefix: no wildcards, no blanks, no slash at either end. */
export function checkPrefix(prefix: string): string {
  const p = prefix.trim();
  if (!PREFIX.test(p) || p.startsWith('/') || p.endsWith('/')) {
    throw new Error(
      `discovery prefix "${prefix}" is not a valid MQTT topic prefix (no wildcards, spaces, or leading/trailing /)`,
    );
  }
  return p;
}

export const availabilityTopic = (deviceId: string): string => `flm/${deviceId}/availability`;

const uniqueId = (deviceId: string, sid: string, kind: ReadingKind): string => `${deviceId}_${sid}_${kind}`;

const discoveryTopic = (prefix: string, deviceId: string, sid: string, kind: ReadingKind): string =>
  `${prefix}/sensor/${deviceId}/${sid}_${kind}/config`;

/** Topics a birth message arrives on: HA's default, and the one under a custom prefix. */
export function isBirthTopic(topic: string, prefix: string): boolean {
  return topic === BIRTH_TOPIC || topic === `${prefix}/status`;
}

/** The HA device of an FLM: identifiers as flukso-hacs (the device id). */
function flmDevice(deviceId: string, opts: DiscoveryOptions = {}): HaDevice {
  return {
    identifiers: [deviceId],
    name: opts.deviceName || `Fluksometer ${deviceId.slice(0, 8)}`,
    manufacturer: MANUFACTURER,
    model: opts.model ?? 'Fluksometer',
    ...(opts.swVersion ? { sw_version: opts.swVersion } : {}),
  };
}

const MBUS_MEDIA = ['gas', 'water', 'heat'];

/**
 * P1 gas, water and heat meters hang on the electricity meter's M-Bus; HA's dsmr integration
 * gives each its own device, and so do we (linked to the FLM with via_device).
 */
export function mbusDevice(deviceId: string, p1: string | undefined): HaDevice | undefined {
  if (!p1) return undefined;
  const [medium, equipment] = p1.split(':');
  if (!medium || !MBUS_MEDIA.includes(medium)) return undefined;
  const key = equipment ? `${medium}_${equipment}` : medium;
  return {
    identifiers: [`${deviceId}_${key.replace(/[^a-zA-Z0-9_-]/g, '_')}`],
    name: `${medium[0]!.toUpperCase()}${medium.slice(1)} meter${equipment ? ` ${equipment}` : ''}`,
    model: `M-Bus ${medium} meter`,
    via_device: deviceId,
  };
}

function isNet(s: HaSensorSource): boolean {
  if (s.net !== undefined) return s.net;
  return s.class === 'cosem' && (s.p1 === undefined || s.p1 === 'net');
}

/** A P1 meter's import or export register (total or per tariff): what HA's Energy dashboard takes. */
function isMeterRegister(s: HaSensorSource): boolean {
  return s.class === 'cosem' && /^(delivered|returned)(:|$)/.test(s.p1 ?? '');
}

/** One entity's config. */
export function sensorConfig(
  deviceId: string,
  s: HaSensorSource,
  kind: ReadingKind,
  opts: DiscoveryOptions = {},
): DiscoveryConfig {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_PREFIX);
  const unit =
    s.units?.[kind] ?? flmUnit({ type: s.type as Sensor['type'], ...(s.subtype ? { subtype: s.subtype } : {}) }, kind);
  const c = haClass({
    type: s.type,
    kind,
    unit,
    ...(s.subtype ? { subtype: s.subtype } : {}),
    net: isNet(s),
    kwh: isMeterRegister(s),
  });
  const payload: HaSensorConfig = {
    name: `${s.name} ${c.label}`,
    unique_id: uniqueId(deviceId, s.id, kind),
    state_topic: sensorTopic(s.id, kind),
    value_template: valueTemplate(c.divisor),
    ...(c.device_class ? { device_class: c.device_class } : {}),
    ...(c.state_class ? { state_class: c.state_class } : {}),
    ...(c.unit ? { unit_of_measurement: c.unit } : {}),
    ...(c.suggested_display_precision !== undefined
      ? { suggested_display_precision: c.suggested_display_precision }
      : {}),
    ...(c.entity_category ? { entity_category: c.entity_category } : {}),
    availability_topic: availabilityTopic(deviceId),
    payload_available: ONLINE,
    payload_not_available: OFFLINE,
    device: mbusDevice(deviceId, s.p1) ?? flmDevice(deviceId, opts),
    ...(opts.origin ? { origin: opts.origin } : {}),
  };
  return { topic: discoveryTopic(prefix, deviceId, s.id, kind), payload };
}

/** Every entity of every enabled sensor, in table order, counter before gauge. */
export function discoveryConfigs(
  device: { id: string },
  sensors: readonly HaSensorSource[],
  opts: DiscoveryOptions = {},
): DiscoveryConfig[] {
  const out: DiscoveryConfig[] = [];
  for (const s of sensors) {
    if (s.enable === false) continue;
    const kinds =
      s.kinds ??
      readingKinds({
        type: s.type as Sensor['type'],
        class: s.class ?? 'virtual',
        ...(s.subtype ? { subtype: s.subtype } : {}),
        ...(s.p1 ? { p1: s.p1 } : {}),
      });
    for (const kind of kinds) out.push(sensorConfig(device.id, s, kind, opts));
  }
  return out;
}

export function configMessage(c: DiscoveryConfig): HaMqttMessage {
  return { topic: c.topic, payload: JSON.stringify(c.payload), retain: true, qos: 1 };
}

/** An empty retained config deletes the entity in HA (and the retained message on the broker). */
export function removalMessages(topics: readonly string[]): HaMqttMessage[] {
  return topics.map((topic) => ({ topic, payload: '', retain: true, qos: 1 as const }));
}

export function availabilityMessage(deviceId: string, online: boolean): HaMqttMessage {
  return { topic: availabilityTopic(deviceId), payload: online ? ONLINE : OFFLINE, retain: true, qos: 1 };
}

/** Topics announced before and not now: they get an empty retained config. */
export function staleTopics(previous: readonly string[], current: readonly string[]): string[] {
  const now = new Set(current);
  return [...new Set(previous)].filter((t) => !now.has(t));
}

/** What flm-sensor puts in msg.flm beside a reading. */
export interface ReadingInfo {
  sid: string;
  kind: ReadingKind;
  name?: string;
  type?: string;
  subtype?: string;
  unit?: string;
  deviceId?: string;
  /** the sensor's class in its table (analog, pulse, cosem, kube, virtual), when the source knows it */
  class?: string;
}

/**
 * A sensor learnt from a reading that is not in the device's table: with no cosem sensor in
 * the table, flm-sensor publishes a P1 meter's net electricity as "p1" and each M-Bus meter
 * as "<medium>-<equipment id>" (core/readings/p1-mapper.ts). The net counter goes down while
 * exporting, so an electricity counter learnt this way is `total`.
 */
export function sensorFromReading(r: ReadingInfo): HaSensorSource | undefined {
  if (!r.type || !r.name) return undefined;
  // A reading that names its class (flm-sensor, flm-in from an FLM's table) says whether it is
  // a meter whose counter only rises; one that does not is taken for P1, which can run backwards.
  const known = (SENSOR_CLASSES as readonly string[]).includes(r.class ?? '') ? (r.class as Sensor['class']) : 'cosem';
  const s: HaSensorSource = { id: r.sid, name: r.name, type: r.type, class: known, kinds: [r.kind] };
  if (r.unit !== undefined) s.units = { [r.kind]: r.unit };
  if (r.subtype) s.subtype = r.subtype as Sensor['subtype'];
  if (known !== 'cosem') return s;
  const m = /^(gas|water|heat)-(.+)$/.exec(r.name);
  if (r.type === 'electricity') {
    s.net = true;
    if (r.name === 'p1') s.p1 = 'net';
  } else if (m && m[1] === r.type) {
    s.p1 = `${m[1]}:${m[2]}`;
  } else if (MBUS_MEDIA.includes(r.type)) {
    s.p1 = r.type;
  }
  return s;
}
