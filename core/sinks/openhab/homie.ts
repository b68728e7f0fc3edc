import type { Sensor } from '../../config/schema';
import type { ReadingKind } from '../../mqtt/topics';
import { readKeyedJson, writeKeyedEntry } from '../../util/keyed-json-file';
import { flmUnit, readingKinds } from '../../mqtt/units';
import { quantityWord } from './item-names';

/**
 * A Homie 4 device (homieiot.github.io, convention v4.0.0) for one FLM, so openHAB's Homie
 * binding finds it by itself: device → Thing, sensor → node (channel group), reading →
 * property (channel). Everything retained, QoS 1, under the `homie/` base topic that
 * controllers discover.
 */
const HOMIE_BASE = 'homie';
const HOMIE_VERSION = '4.0.0';

export type HomieState = 'init' | 'ready' | 'disconnected' | 'sleeping' | 'lost' | 'alert';

/** An MQTT message ready for flm-broker or a core `mqtt out` node. */
export interface HomieMessage {
  topic: string;
  payload: string;
  retain: true;
  qos: 1;
}

/** A topic level id: lowercase letters, digits and hyphens, not starting or ending with a hyphen. */
const HOMIE_ID = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export function homieId(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** A sensor as the device describes it: from the table, or learnt from a reading's msg.flm. */
export interface HomieSensor {
  sid: string;
  name: string;
  type: string;
  subtype?: string;
  kinds: ReadingKind[];
  units: Partial<Record<ReadingKind, string>>;
}

export interface HomieProperty {
  id: string;
  kind: ReadingKind;
  name: string;
  unit: string;
}

export interface HomieNode {
  id: string;
  sid: string;
  name: string;
  type: string;
  properties: HomieProperty[];
}

/** What was announced, per node id its property ids: what to clear when a sensor goes. */
export type HomieStructure = Record<string, string[]>;

export function tableSensor(s: Pick<Sensor, 'id' | 'name' | 'type' | 'subtype' | 'class' | 'p1'>): HomieSensor {
  const kinds = readingKinds(s);
  const units: HomieSensor['units'] = {};
  for (const k of kinds) units[k] = flmUnit(s, k);
  return { sid: s.id, name: s.name, type: s.type, ...(s.subtype ? { subtype: s.subtype } : {}), kinds, units };
}

export interface HomieDeviceOptions {
  /** $name; default `Fluksometer <first 8 hex of the id>` */
  name?: string;
  /** $implementation */
  implementation?: string;
}

const msg = (topic: string, payload: string): HomieMessage => ({ topic, payload, retain: true, qos: 1 });

/**
 * The device's description and values as Homie messages. Node ids come from sensor names
 * (readable channel ids in openHAB: `main#power`), made unique; property ids from the quantity.
 */
export class HomieDevice {
  readonly id: string;
  readonly base: string;
  /** what the device's sensor set describes; replaced as the set changes */
  private described = new Map<string, HomieSensor>();
  /** what readings' msg.flm taught beyond that: kept across changes of the set */
  private readonly learnt = new Map<string, HomieSensor>();
  private sensors = new Map<string, HomieSensor>();
  private nodes: HomieNode[] = [];

  constructor(
    deviceId: string,
    sensors: HomieSensor[],
    private readonly opts: HomieDeviceOptions = {},
  ) {
    this.id = homieId(deviceId);
    if (!HOMIE_ID.test(this.id)) throw new Error(`device id "${deviceId}" makes no Homie id`);
    this.base = `${HOMIE_BASE}/${this.id}`;
    for (const s of sensors) this.described.set(s.sid, s);
    this.build();
  }

  get nodeList(): readonly HomieNode[] {
    return this.nodes;
  }

  has(sid: string, kind: ReadingKind): boolean {
    return this.sensors.get(sid)?.kinds.includes(kind) ?? false;
  }

  structure(): HomieStructure {
    return Object.fromEntries(this.nodes.map((n) => [n.id, n.properties.map((p) => p.id)]));
  }

  state(s: HomieState): HomieMessage {
    return msg(`${this.base}/$state`, s);
  }

  /**
   * The whole description between `init` and `ready`; nodes and properties of `previous` not
   * described now are cleared. A device with no node yet (source P1 before the meter's first
   * telegram) stays in `init`: an empty `$nodes` would be an empty retained message, which a
   * broker deletes.
   */
  announce(previous: HomieStructure = {}): HomieMessage[] {
    const out: HomieMessage[] = [this.state('init')];
    out.push(...this.clearStale(previous));
    out.push(
      msg(`${this.base}/$homie`, HOMIE_VERSION),
      msg(`${this.base}/$name`, this.opts.name || `Fluksometer ${this.id.slice(0, 8)}`),
      msg(`${this.base}/$extensions`, ''),
    );
    if (this.opts.implementation) out.push(msg(`${this.base}/$implementation`, this.opts.implementation));
    // No node: a $nodes left from before is deleted, and the device is not ready.
    if (!this.nodes.length) return [...out, msg(`${this.base}/$nodes`, '')];
    for (const n of this.nodes) out.push(...this.describeNode(n));
    out.push(msg(`${this.base}/$nodes`, this.nodes.map((n) => n.id).join(',')));
    out.push(this.state('ready'));
    return out;
  }

  /**
   * A reading of a sensor or kind not described yet: the device goes back to `init`, the
   * description grows, and it is `ready` again (the convention's way to change structure).
   * Returns nothing when the reading was already described.
   */
  learn(sensor: Omit<HomieSensor, 'kinds' | 'units'>, kind: ReadingKind, unit: string): HomieMessage[] {
    const known = this.sensors.get(sensor.sid);
    if (known?.kinds.includes(kind)) return [];
    const before = this.structure();
    const taught = this.learnt.get(sensor.sid);
    if (taught) {
      taught.kinds = [...taught.kinds, kind];
      taught.units[kind] = unit;
    } else {
      this.learnt.set(sensor.sid, { ...(known ?? sensor), kinds: [kind], units: { [kind]: unit } });
    }
    this.build();
    return this.announce(before);
  }

  /**
   * The sensors the device's set describes now (a source derived some, a switch of source left
   * others unfed). Returns the new description, clearing nodes that are gone, when the device
   * looks different; nothing when it does not. What readings taught stays.
   */
  describe(sensors: HomieSensor[]): HomieMessage[] {
    const before = this.structure();
    const shown = JSON.stringify(this.nodes);
    this.described = new Map(sensors.map((s) => [s.sid, s]));
    this.build();
    return JSON.stringify(this.nodes) === shown ? [] : this.announce(before);
  }

  /** The value message of a reading, or undefined for a sensor or kind not described. */
  value(sid: string, kind: ReadingKind, value: number): HomieMessage | undefined {
    const n = this.nodes.find((x) => x.sid === sid);
    const p = n?.properties.find((x) => x.kind === kind);
    if (!n || !p) return undefined;
    if (!Number.isFinite(value)) throw new Error(`reading value must be a finite number, got ${value}`);
    return msg(`${this.base}/${n.id}/${p.id}`, String(Math.round(value * 1000) / 1000));
  }

  private describeNode(n: HomieNode): HomieMessage[] {
    const t = `${this.base}/${n.id}`;
    const out = [
      msg(`${t}/$name`, n.name),
      msg(`${t}/$type`, n.type),
      msg(`${t}/$properties`, n.properties.map((p) => p.id).join(',')),
    ];
    for (const p of n.properties) {
      out.push(msg(`${t}/${p.id}/$name`, p.name), msg(`${t}/${p.id}/$datatype`, 'float'));
      // An empty retained payload would delete the topic: a unitless value has no $unit (default "").
      if (p.unit) out.push(msg(`${t}/${p.id}/$unit`, p.unit));
    }
    return out;
  }

  /** Empty retained payloads for what `previous` had and the device has no more. */
  private clearStale(previous: HomieStructure): HomieMessage[] {
    const now = this.structure();
    const out: HomieMessage[] = [];
    const clearProperty = (nodeId: string, pid: string) => {
      for (const a of ['', '/$name', '/$datatype', '/$unit', '/$format', '/$settable', '/$retained'])
        out.push(msg(`${this.base}/${nodeId}/${pid}${a}`, ''));
    };
    for (const [nodeId, props] of Object.entries(previous)) {
      if (!HOMIE_ID.test(nodeId)) continue;
      const current = now[nodeId];
      for (const pid of props) if (HOMIE_ID.test(pid) && !current?.includes(pid)) clearProperty(nodeId, pid);
      if (!current) for (const a of ['$name', '$type', '$properties']) out.push(msg(`${this.base}/${nodeId}/${a}`, ''));
    }
    return out;
  }

  private build(): void {
    // The set's sensors first, each with the kinds readings added; then those only readings know.
    this.sensors = new Map();
    for (const d of this.described.values()) {
      const t = this.learnt.get(d.sid);
      const extra = t ? t.kinds.filter((k) => !d.kinds.includes(k)) : [];
      this.sensors.set(d.sid, {
        ...d,
        kinds: [...d.kinds, ...extra],
        units: { ...d.units, ...Object.fromEntries(extra.map((k) => [k, t!.units[k]])) },
      });
    }
    for (const t of this.learnt.values()) if (!this.sensors.has(t.sid)) this.sensors.set(t.sid, t);
    const used = new Set<string>();
    this.nodes = [...this.sensors.values()].map((s) => {
      let id = homieId(s.name);
      if (!id || used.has(id)) id = `${id ? `${id}-` : 'sensor-'}${s.sid.slice(0, 8)}`;
      if (used.has(id)) id = s.sid;
      used.add(id);
      const props: HomieProperty[] = [];
      for (const kind of s.kinds) {
        let pid = homieId(quantityWord(s.type, kind, s.subtype));
        if (!pid || props.some((p) => p.id === pid)) pid = kind;
        const word = pid === kind ? kind : pid.replace(/-/g, ' ');
        props.push({ id: pid, kind, name: `${s.name} ${word}`, unit: s.units[kind] ?? '' });
      }
      return { id, sid: s.sid, name: s.name, type: s.subtype ? `${s.type} ${s.subtype}` : s.type, properties: props };
    });
  }
}

export type HomieAnnouncedFile = Record<string, HomieStructure>;

export const loadHomieAnnounced = (path: string): Promise<HomieAnnouncedFile> => readKeyedJson<HomieStructure>(path);

/** Replace one device's structure in the file, keeping the others (devices may share a data dir). */
export const saveHomieAnnounced = (path: string, deviceId: string, s: HomieStructure): Promise<void> =>
  writeKeyedEntry(path, deviceId, s);
