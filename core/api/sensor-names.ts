import { isSid } from '../tmpo/ids';

/**
 * A sensor as a person names it: the table's `function` ("main", "solar", "grid import") next to
 * the 32-hex id every topic, block and URL uses. People type names; the pipeline keeps ids.
 */
export interface NamedSensor {
  id: string;
  name: string;
}

export type SensorLookup =
  { ok: true; sid: string } | { ok: false; why: 'unknown' | 'ambiguous'; message: string; matches: NamedSensor[] };

/** The names people may type, sorted, each once: for an error that says what would have worked. */
function knownNames(sensors: readonly NamedSensor[]): string[] {
  return [...new Set(sensors.map((s) => s.name).filter(Boolean))].sort((a, b) => a.localeCompare(b));
}

/**
 * The sensor `ref` means: a known id; else the one sensor with that name (exact case first, then
 * in any case); else `ref` itself when it is written like an id (a sensor not known here keeps
 * its id's meaning: the caller answers "no data" as before). A name two sensors share is refused
 * with their ids, so the person picks one.
 */
export function lookupSensor(ref: string, sensors: readonly NamedSensor[]): SensorLookup {
  if (sensors.some((s) => s.id === ref)) return { ok: true, sid: ref };
  const unique = (list: NamedSensor[]): NamedSensor[] => [...new Map(list.map((s) => [s.id, s])).values()];
  let matches = unique(sensors.filter((s) => s.name === ref));
  if (matches.length === 0) matches = unique(sensors.filter((s) => s.name.toLowerCase() === ref.toLowerCase()));
  if (matches.length === 1) return { ok: true, sid: matches[0]!.id };
  if (matches.length > 1)
    return {
      ok: false,
      why: 'ambiguous',
      message: `"${ref}" names ${matches.length} sensors: ${matches.map((s) => `${s.id} (${s.name})`).join(', ')}; give the id`,
      matches,
    };
  if (isSid(ref)) return { ok: true, sid: ref };
  const names = knownNames(sensors);
  return {
    ok: false,
    why: 'unknown',
    message: `no sensor is named "${ref}"${names.length ? `; known names: ${names.join(', ')}` : ' (no sensor names known here)'}`,
    matches: [],
  };
}
