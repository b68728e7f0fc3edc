import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { readKeyedJson, writeKeyedEntry } from '../util/keyed-json-file';
import { sensorSchema, type Device, type Sensor } from './schema';

/**
 * The sensors of one device as every consumer (TMPO, upload, MySQL, Home Assistant, the
 * published table) sees them: the configured table, plus sensors a live source derived by
 * itself (a P1 meter's registers, sensors described by readings from another broker). Derived
 * sensors are kept in the data dir, so after a restart their history stays on the same ids.
 *
 * Which sensors are alive depends on the source the device runs (`FLM_SOURCE`): a table's
 * clamps, pulse inputs and Kubes are fed by a board (or the simulator), cosem sensors and a
 * meter's derived sensors by P1. The others stay known (their history is served) but are not
 * announced, and the published table shows them disabled.
 */

/** Who feeds a sensor: a board (or the simulator), a P1 meter, or readings that describe themselves. */
export type SensorOrigin = 'board' | 'p1' | 'in';

export interface DerivedSensor extends Sensor {
  origin: Exclude<SensorOrigin, 'board'>;
}

export const DERIVED_SENSORS_FILE = 'derived-sensors.json';
/** The FLM's table holds at most this many sensors; a flood of made-up ids stops here. */
export const MAX_SENSORS = 128;

/** What tells whether a sensor is alive. */
export type LiveQuery = Pick<Sensor, 'id' | 'class' | 'enable'>;

interface StoredEntry {
  sensors: DerivedSensor[];
}

/** A table sensor's feeder; undefined for a virtual sensor, fed by whatever the flow wires to it. */
function tableOrigin(s: Pick<Sensor, 'class'>): SensorOrigin | undefined {
  if (s.class === 'cosem') return 'p1';
  return s.class === 'virtual' ? undefined : 'board';
}

/** A derived sensor as kept on disk (or described by a reading), checked as a table row is; undefined if it is not one. */
function storedSensor(x: unknown): DerivedSensor | undefined {
  if (!x || typeof x !== 'object') return undefined;
  const { origin, id, name, type, class: cls, p1, subtype } = x as Record<string, unknown>;
  if (origin !== 'p1' && origin !== 'in') return undefined;
  // A meter's key names its M-Bus meter by equipment id, in capitals, which the table's p1 option does not take.
  if (p1 !== undefined && !(typeof p1 === 'string' && /^[a-z0-9]+(:[\w.-]{1,64})?$/.test(p1))) return undefined;
  const r = sensorSchema.safeParse({
    id,
    name,
    type,
    class: cls,
    data_type: 'counter',
    ...(subtype !== undefined ? { subtype } : {}),
  });
  if (!r.success || r.data.id === undefined) return undefined;
  return {
    ...r.data,
    id: r.data.id,
    n: 0,
    data_type: 'counter',
    origin,
    ...(p1 !== undefined ? { p1: p1 as string } : {}),
  };
}

export class DeviceSensors extends EventEmitter {
  private readonly derived = new Map<string, DerivedSensor>();
  private readonly tableIds: Set<string>;
  private readonly hasCosem: boolean;
  private saving: Promise<void> = Promise.resolve();

  /**
   * `live`: the origins the running source feeds (undefined: every origin, the flow runs all
   * its sources); `path`: where derived sensors are kept; `onWarning`: a save that failed.
   */
  constructor(
    readonly device: Device,
    private readonly options: {
      live?: SensorOrigin[];
      path?: string;
      stored?: DerivedSensor[];
      onWarning?: (text: string) => void;
    } = {},
  ) {
    super();
    this.tableIds = new Set(device.sensors.map((s) => s.id));
    this.hasCosem = device.sensors.some((s) => s.enable && s.class === 'cosem');
    for (const s of options.stored ?? []) this.add(s);
  }

  /** The set of `device` with the derived sensors kept in `dataDir`; a damaged entry costs only itself. */
  static async load(
    device: Device,
    dataDir: string,
    options: { live?: SensorOrigin[]; onWarning?: (text: string) => void } = {},
  ): Promise<DeviceSensors> {
    const path = join(dataDir, DERIVED_SENSORS_FILE);
    const entries = (await readKeyedJson<StoredEntry>(path))[device.id]?.sensors;
    const stored: DerivedSensor[] = [];
    for (const e of Array.isArray(entries) ? entries : []) {
      const s = storedSensor(e);
      if (s) stored.push(s);
      else
        options.onWarning?.(
          `${path}: a derived sensor of device ${device.id} is not readable and is left out: ${JSON.stringify(e).slice(0, 120)}`,
        );
    }
    return new DeviceSensors(device, { ...options, path, stored });
  }

  /** Every sensor, table first then derived in the order they came, with section numbers. */
  all(): Sensor[] {
    let n = this.device.sensors.reduce((max, s) => Math.max(max, s.n), 0);
    return [
      ...this.device.sensors,
      ...[...this.derived.values()].map(({ origin: _origin, ...s }) => ({ ...s, n: ++n })),
    ];
  }

  /** An enabled sensor readings are kept for, or undefined. */
  get(sid: string): Sensor | undefined {
    const s = this.device.sensors.find((x) => x.id === sid) ?? this.derived.get(sid);
    return s?.enable ? s : undefined;
  }

  /** Whether the running source feeds `s`: what Home Assistant announces and the table shows enabled. */
  isLive(s: LiveQuery): boolean {
    if (!s.enable) return false;
    const d = this.derived.get(s.id);
    const origin = d ? d.origin : tableOrigin(s);
    // A table with cosem sensors takes a meter's readings itself: the derived ones are no longer fed.
    if (d?.origin === 'p1' && this.hasCosem) return false;
    return origin === undefined || origin === 'in' || !this.options.live || this.options.live.includes(origin);
  }

  live(): Sensor[] {
    return this.all().filter((s) => this.isLive(s));
  }

  /** The table to publish on /device/<did>/config/sensor: sensors no live source feeds show disabled. */
  published(): Device {
    return {
      ...this.device,
      sensors: this.all().map((s) => (s.enable && !this.isLive(s) ? { ...s, enable: false } : s)),
    };
  }

  /**
   * Sensors a source derived: new ones (and changed names) are added, kept on disk, and
   * announced with a `change` event. Sensors of the table are left as configured. Returns
   * whether anything changed.
   */
  register(sensors: readonly Sensor[], origin: DerivedSensor['origin']): boolean {
    let changed = false;
    for (const s of sensors) changed = this.add({ ...s, origin }) || changed;
    if (changed) {
      this.persist();
      this.emit('change');
    }
    return changed;
  }

  /**
   * The enabled sensor a reading is for: a known one, or, for a sensor this device does not
   * know, one its msg.flm describes (flm-in passes on another FLM's names and types), which is
   * registered. Undefined when neither.
   */
  sensorOf(sid: string, flm: unknown): Sensor | undefined {
    const known = this.get(sid);
    if (known || this.tableIds.has(sid) || this.derived.has(sid)) return known;
    const f = (flm ?? {}) as Record<string, unknown>;
    const s = storedSensor({
      id: sid,
      name: typeof f.name === 'string' ? f.name.replace(/[^\w \-.]/g, '_').slice(0, 32) : undefined,
      type: f.type,
      class: f.class === 'cosem' ? 'cosem' : 'virtual',
      origin: 'in',
      ...(typeof f.subtype === 'string' ? { subtype: f.subtype } : {}),
    });
    return s && this.register([s], 'in') ? this.get(sid) : undefined;
  }

  /** Resolves when what was registered so far is on disk. */
  flushed(): Promise<void> {
    return this.saving;
  }

  private add(s: DerivedSensor): boolean {
    if (this.tableIds.has(s.id)) return false;
    const before = this.derived.get(s.id);
    if (!before && this.tableIds.size + this.derived.size >= MAX_SENSORS) return false;
    if (before && before.name === s.name && before.type === s.type && before.p1 === s.p1 && before.origin === s.origin)
      return false;
    this.derived.set(s.id, { ...s, n: 0, enable: true, port: [], rid: 0 });
    return true;
  }

  private persist(): void {
    const path = this.options.path;
    if (!path) return;
    const entry: StoredEntry = { sensors: [...this.derived.values()] };
    this.saving = this.saving
      .then(() => writeKeyedEntry(path, this.device.id, entry))
      .catch((err: unknown) =>
        this.options.onWarning?.(`could not save ${path}: ${err instanceof Error ? err.message : String(err)}`),
      );
  }
}
