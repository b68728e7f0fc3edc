import { join } from 'node:path';
import { DERIVED_SENSORS_FILE } from '../config/sensor-set';
import { readKeyedJson } from '../util/keyed-json-file';
import { decodeBlock } from '../tmpo/codec';
import { span, type BlockKey } from '../tmpo/ids';
import type { TmpoDirReader } from '../api/store-reader';
import { lookupSensor, type NamedSensor } from '../api/sensor-names';
import { UsageError } from './command';

/**
 * The sensors a data dir knows by name, for a command line that takes names: every sensor with
 * blocks, named as its newest block's cfg names it (the device's table when the block was
 * written: `function`, as on the FLM), and the sensors live sources derived, named as
 * `derived-sensors.json` (core/config/sensor-set.ts) keeps them now. An FLM's own tmpo folder
 * has no such file; its blocks carry the names.
 */
export async function storeSensors(reader: TmpoDirReader): Promise<NamedSensor[]> {
  const names = new Map<string, string>();
  const newest = new Map<string, BlockKey>();
  const end = (k: BlockKey): number => k.bid + span(k.lvl);
  for (const key of await reader.list()) {
    const seen = newest.get(key.sid);
    if (!seen || key.rid > seen.rid || (key.rid === seen.rid && end(key) > end(seen))) newest.set(key.sid, key);
  }
  for (const [sid, key] of newest) {
    const bytes = await reader.read(key);
    if (!bytes) continue;
    try {
      const name = decodeBlock(bytes).h.cfg?.function;
      if (typeof name === 'string' && name) names.set(sid, name);
    } catch {
      // a damaged block has no name to give; `flm tmpo ls` reports it
    }
  }
  const derived = await readKeyedJson<{ sensors?: unknown }>(join(reader.dataDir, DERIVED_SENSORS_FILE));
  for (const entry of Object.values(derived)) {
    for (const s of Array.isArray(entry?.sensors) ? (entry.sensors as unknown[]) : []) {
      const { id, name } = (s ?? {}) as Record<string, unknown>;
      if (typeof id === 'string' && typeof name === 'string' && name) names.set(id, name);
    }
  }
  return [...names].map(([id, name]) => ({ id, name }));
}

/** The id `--sid` means (an id, or a name of `sensors`); a usage error naming the known names otherwise. */
export function sidOption(ref: string, sensors: readonly NamedSensor[]): string {
  const found = lookupSensor(ref, sensors);
  if (!found.ok) throw new UsageError(`--sid: ${found.message}`);
  return found.sid;
}
