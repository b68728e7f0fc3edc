import { z } from 'zod';
import { describeZodError, type Sensor } from '../../config/schema';
import type { ReadingKind } from '../../mqtt/topics';
import { haClass } from '../../mqtt/quantity';
import { flmUnit } from '../../mqtt/units';

/** openHAB's rule for item names: letters, digits and underscores, not starting with a digit. */
export const ITEM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An override that says "do not send this reading". */
const SKIP_ITEM = '-';

export interface ItemOverride {
  /** a sensor name ("main") or its 32-hex id */
  sensor: string;
  kind: ReadingKind;
  /** an openHAB item name, or "-" to send nothing for this reading */
  item: string;
}

/** What is known of a reading when its item is looked up. */
export interface ItemSubject {
  sid: string;
  kind: ReadingKind;
  name?: string;
  type?: string;
  subtype?: string;
}

/** "Main meter" → "main_meter"; what an item name may carry of a sensor name. */
function itemSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * The quantity a reading measures, as a word: power, energy, volume, flow, temperature…,
 * the same words Home Assistant entity names get (core/sinks/homeassistant/mapping.ts).
 */
export function quantityWord(type: string | undefined, kind: ReadingKind, subtype?: string): string {
  const s = { type: (type ?? '') as Sensor['type'], ...(subtype ? { subtype: subtype as Sensor['subtype'] } : {}) };
  const label = haClass({ type: type ?? '', kind, unit: flmUnit(s, kind), ...(subtype ? { subtype } : {}) }).label;
  return itemSlug(label) || kind;
}

/** `flm_<sensor name>_<quantity>`: flm_main_power, flm_main_energy, flm_gas_volume. */
export function defaultItemName(
  sensorName: string,
  type: string | undefined,
  kind: ReadingKind,
  subtype?: string,
): string {
  return `flm_${itemSlug(sensorName) || 'sensor'}_${quantityWord(type, kind, subtype)}`;
}

const overrideRows = z.array(
  z.object({ sensor: z.string(), kind: z.enum(['gauge', 'counter']), item: z.string().trim() }).strip(),
);

/** The node's item table as the editor stores it; throws with the first problems. */
export function parseOverrides(v: unknown): ItemOverride[] {
  if (v === undefined || v === null || v === '') return [];
  const r = overrideRows.safeParse(v);
  if (!r.success) throw new Error(`item table: ${describeZodError(r.error)}`);
  return checkOverrides(r.data);
}

function checkOverrides(rows: ItemOverride[]): ItemOverride[] {
  const seen = new Set<string>();
  for (const r of rows) {
    if (!r.sensor.trim()) throw new Error('an item mapping needs a sensor name or id');
    if (r.item !== SKIP_ITEM && !ITEM_NAME.test(r.item)) {
      throw new Error(
        `"${r.item}" is not an openHAB item name (letters, digits and _, not starting with a digit), nor "-" to skip`,
      );
    }
    const key = `${r.sensor.trim()}/${r.kind}`;
    if (seen.has(key)) throw new Error(`sensor ${r.sensor} ${r.kind} is mapped twice`);
    seen.add(key);
  }
  return rows.map((r) => ({ ...r, sensor: r.sensor.trim() }));
}

/** Item names of readings: an override by sensor id or name, else the default name. */
export class ItemNames {
  private readonly overrides = new Map<string, string>();

  constructor(rows: ItemOverride[] = []) {
    for (const r of checkOverrides(rows)) this.overrides.set(`${r.sensor}/${r.kind}`, r.item);
  }

  /** The item, undefined for a reading mapped to "-"; throws when the sensor has no name to build one from. */
  item(s: ItemSubject): string | undefined {
    const o =
      this.overrides.get(`${s.sid}/${s.kind}`) ??
      (s.name !== undefined ? this.overrides.get(`${s.name}/${s.kind}`) : undefined);
    if (o !== undefined) return o === SKIP_ITEM ? undefined : o;
    if (s.name === undefined) {
      throw new Error(
        `sensor ${s.sid} has no name (not in the device's table, no msg.flm.name): map it to an item in the node's item table`,
      );
    }
    return defaultItemName(s.name, s.type, s.kind, s.subtype);
  }
}
