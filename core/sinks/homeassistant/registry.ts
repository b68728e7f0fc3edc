import type { Device, Sensor } from '../../config/schema';
import type { ReadingKind } from '../../mqtt/topics';
import { readKeyedJson, writeKeyedEntry } from '../../util/keyed-json-file';
import { sensorFromReading, type HaSensorSource, type ReadingInfo } from './discovery';
import { flmUnit, readingKinds } from '../../mqtt/units';

/** What a table sensor turned out to send that its config did not expect. */
export interface Learnt {
  kinds?: ReadingKind[];
  units?: Partial<Record<ReadingKind, string>>;
}

/** What was announced for one device, so a sensor gone from the table can be removed after a restart. */
export interface AnnouncedEntry {
  topics: string[];
  /** sensors learnt from readings that are not in the table (P1 meter-derived ids) */
  seen: HaSensorSource[];
  /** readings of table sensors that differ from the defaults (another unit, another kind) */
  extra: Record<string, Learnt>;
}

export type AnnouncedFile = Record<string, AnnouncedEntry>;

export const loadAnnounced = (path: string): Promise<AnnouncedFile> => readKeyedJson<AnnouncedEntry>(path);

/** Replace one device's entry in the file, keeping the others (several devices may share a data dir). */
export const saveAnnounced = (path: string, deviceId: string, entry: AnnouncedEntry): Promise<void> =>
  writeKeyedEntry(path, deviceId, entry);

/** The unit of a `[ts,value,"unit"]` payload, as an array or JSON text. */
export function readingUnit(payload: unknown): string | undefined {
  let p = payload;
  if (typeof p === 'string' || Buffer.isBuffer(p)) {
    try {
      p = JSON.parse(String(p));
    } catch {
      return undefined;
    }
  }
  return Array.isArray(p) && typeof p[2] === 'string' ? p[2] : undefined;
}

/**
 * The sensors to announce for one device: the enabled table sensors, plus sensors learnt from
 * readings (P1 meter-derived ids, a unit or kind the table did not foresee), kept across restarts.
 */
export class DiscoveryRegistry {
  private table: Map<string, Sensor>;
  private readonly seen = new Map<string, HaSensorSource>();
  private readonly extra = new Map<string, Learnt>();
  private readonly warned = new Set<string>();
  private readonly live: (s: Pick<Sensor, 'id' | 'class' | 'enable'>) => boolean;

  /**
   * `live` tells the table sensors a running source feeds (the device's sensor set): only those
   * are announced; a sensor of a source that left the flow is removed from HA.
   */
  constructor(
    private readonly device: Device,
    stored?: AnnouncedEntry,
    live?: (s: Pick<Sensor, 'id' | 'class' | 'enable'>) => boolean,
  ) {
    this.live = live ?? ((s) => s.enable);
    this.table = new Map(device.sensors.map((s) => [s.id, s]));
    // Learnt sensors are announced again at start, so a restart does not remove and re-create
    // them; a table that now has cosem sensors replaces the P1 defaults, and P1 sensors learnt
    // before go when the device runs another source.
    const hasCosem = device.sensors.some((s) => s.enable && s.class === 'cosem');
    const fed = (s: HaSensorSource) => s.class !== 'cosem' || this.live({ id: s.id, class: 'cosem', enable: true });
    for (const s of stored?.seen ?? []) if (!hasCosem && !this.table.has(s.id) && fed(s)) this.seen.set(s.id, s);
    for (const [sid, x] of Object.entries(stored?.extra ?? {})) if (this.table.get(sid)?.enable) this.extra.set(sid, x);
  }

  /** The device's sensors changed (a source derived new ones): learnt copies of them give way. */
  setSensors(sensors: readonly Sensor[]): void {
    this.table = new Map(sensors.map((s) => [s.id, s]));
    for (const sid of this.table.keys()) this.seen.delete(sid);
  }

  sources(): HaSensorSource[] {
    const rows: HaSensorSource[] = [...this.table.values()]
      .filter((s) => this.live(s))
      .map((s) => {
        const x = this.extra.get(s.id);
        const src: HaSensorSource = { id: s.id, name: s.name, type: s.type, class: s.class, enable: true };
        if (s.subtype) src.subtype = s.subtype;
        if (s.p1) src.p1 = s.p1;
        if (x?.kinds) src.kinds = x.kinds;
        if (x?.units) src.units = x.units;
        return src;
      });
    return [...rows, ...this.seen.values()];
  }

  entry(topics: string[]): AnnouncedEntry {
    return { topics: [...topics], seen: [...this.seen.values()], extra: Object.fromEntries(this.extra) };
  }

  /**
   * A reading arrived: the sensor whose config must be (re)announced, if it is new or sends
   * what its config did not expect; throws, once per sensor, for an unknown sensor that
   * cannot be described (no msg.flm).
   */
  learn(
    sid: string,
    kind: ReadingKind,
    unit: string | undefined,
    flm: Partial<ReadingInfo> | undefined,
  ): HaSensorSource | undefined {
    const row = this.table.get(sid);
    if (row) {
      if (!this.live(row)) return undefined;
      const prev = this.extra.get(sid);
      const x: Learnt = { ...prev };
      const kinds = x.kinds ?? readingKinds(row);
      const expected = x.units?.[kind] ?? flmUnit(row, kind);
      if (!kinds.includes(kind)) x.kinds = [...kinds, kind];
      if (unit !== undefined && unit !== expected) x.units = { ...x.units, [kind]: unit };
      if (x.kinds === prev?.kinds && x.units === prev?.units) return undefined;
      this.extra.set(sid, x);
      return this.sources().find((s) => s.id === sid);
    }
    if (flm?.deviceId && flm.deviceId !== this.device.id) return undefined; // another device's reading: its own node announces it
    const known = this.seen.get(sid);
    if (known) {
      const kinds = known.kinds ?? [];
      if (kinds.includes(kind) && (unit === undefined || unit === known.units?.[kind])) return undefined;
      known.kinds = kinds.includes(kind) ? kinds : [...kinds, kind];
      if (unit !== undefined) known.units = { ...known.units, [kind]: unit };
      return known;
    }
    const src = sensorFromReading({ ...flm, sid, kind, ...(unit !== undefined ? { unit } : {}) } as ReadingInfo);
    if (!src) {
      if (this.warned.has(sid)) return undefined;
      this.warned.add(sid);
      throw new Error(
        `sensor ${sid} is not in the table of device ${this.device.id} and the reading has no msg.flm (name, type): it cannot be announced`,
      );
    }
    this.seen.set(sid, src);
    return src;
  }
}
