import {
  deviceSchema,
  describeZodError,
  isKubeField,
  KUBE_FIELD_DATA_TYPE,
  type Device,
  type DeviceInput,
  type Sensor,
} from './schema';
import { deriveSensorId, loadOrCreateIdentity } from './identity';

/**
 * Validate a device config once, at the edge, and return the typed, normalised form the
 * rest of the pipeline relies on: section numbers assigned, ids derived where missing,
 * analog defaults (230 V, 50 A) filled in, and duplicates rejected.
 */
export function parseDevice(input: DeviceInput): Device {
  const r = deviceSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid device config: ${describeZodError(r.error)}`);
  const d = r.data;
  const usedN = new Set<number>();
  d.sensors.forEach((s, i) => {
    if (s.n === undefined) return;
    if (usedN.has(s.n)) throw new Error(`invalid device config: sensors.${i}.n: section ${s.n} is used twice`);
    usedN.add(s.n);
  });
  const sensors: Sensor[] = d.sensors.map((s, i) => {
    let n = s.n;
    if (n === undefined) {
      n = nextFree(usedN, i + 1);
      usedN.add(n);
    }
    const data_type =
      s.data_type ?? (s.class === 'kube' && isKubeField(s.type) ? KUBE_FIELD_DATA_TYPE[s.type] : 'counter');
    const sensor: Sensor = { ...s, n, id: s.id ?? deriveSensorId(d.id, String(n)), data_type };
    if (s.class === 'analog') {
      sensor.voltage = s.voltage ?? 230;
      sensor.current = s.current ?? 50;
    }
    return sensor;
  });
  const ids = new Set<string>();
  for (const s of sensors) {
    if (ids.has(s.id)) throw new Error(`invalid device config: sensor id ${s.id} is used twice`);
    ids.add(s.id);
  }
  // An FLM03 clamp port carries up to 12 parameters (pplus, q1, vrms, …): one sensor each.
  const ports = new Map<string, string>();
  for (const s of sensors) {
    if (!s.enable || (s.class !== 'analog' && s.class !== 'pulse')) continue;
    for (const p of s.port) {
      const slot = `${p}/${s.subtype ?? ''}`;
      const other = ports.get(slot);
      if (other)
        throw new Error(
          `invalid device config: port ${p}${s.subtype ? ` (${s.subtype})` : ''} is used by both "${other}" and "${s.name}"`,
        );
      ports.set(slot, s.name);
    }
  }
  // A Kube field goes to one sensor: two would split its history.
  const kubeFields = new Map<string, string>();
  for (const s of sensors) {
    if (!s.enable || s.class !== 'kube') continue;
    const slot = `${s.kid}/${s.type}`;
    const other = kubeFields.get(slot);
    if (other)
      throw new Error(`invalid device config: the ${s.type} of Kube ${s.kid} goes to both "${other}" and "${s.name}"`);
    kubeFields.set(slot, s.name);
  }
  return { id: d.id, key: d.key, phase: d.phase, validAfter: d.validAfter, sensors };
}

function nextFree(used: Set<number>, from: number): number {
  let n = from;
  while (used.has(n)) n++;
  return n;
}

export interface DeviceSource {
  /** configured id/key; empty means "the one kept in the data dir, generated once" */
  id?: string;
  key?: string;
  phase?: number;
  validAfter?: number;
  sensors: unknown;
  dataDir: string;
}

/** Resolve a device from its configured form: identity from the data dir where not given, then validate. */
export async function loadDevice(src: DeviceSource): Promise<Device> {
  const identity = await loadOrCreateIdentity(src.dataDir, { id: src.id || undefined, key: src.key || undefined });
  let sensors = src.sensors;
  if (typeof sensors === 'string') {
    try {
      sensors = sensors.trim() === '' ? [] : JSON.parse(sensors);
    } catch {
      throw new Error('invalid device config: the sensor table is not valid JSON');
    }
  }
  return parseDevice({
    id: identity.id,
    key: identity.key,
    phase: (src.phase ?? 1) as 1 | 3,
    validAfter: src.validAfter,
    sensors: sensors as DeviceInput['sensors'],
  });
}
