import type { Quantity } from './types';

/**
 * Reading the text inside one COSEM value group: `000123.456*kWh`, `0001`, hex-encoded text.
 * Nothing here throws: a group that is not what was expected gives null and the caller
 * decides what to report.
 */

/**
 * `[-+]digits[.digits]`, nothing else: Number() alone would also take "", "0x1F" and "1e3".
 * Checked by hand because a telegram holds dozens of numbers, every second.
 */
export function parseNumber(text: string): number | null {
  const t = text.trim();
  let i = t.charCodeAt(0) === 0x2d || t.charCodeAt(0) === 0x2b ? 1 : 0;
  let digits = 0;
  let dots = 0;
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) digits++;
    else if (c === 0x2e && dots === 0) dots++;
    else return null;
  }
  return digits > 0 ? Number(t) : null;
}

/** The unit as users see it: Home Assistant and the FLM expect `m³`, meters send `m3`. */
export function normalizeUnit(unit: string): string | null {
  const u = unit.trim();
  if (u === '') return null;
  return u === 'm3' ? 'm³' : u;
}

/** `value*unit`, or a bare number (unit null). Holley pads the unit with a space: trimmed. */
export function parseQuantity(group: string): Quantity | null {
  const star = group.indexOf('*');
  const value = parseNumber(star === -1 ? group : group.slice(0, star));
  if (value === null) return null;
  return { value, unit: star === -1 ? null : normalizeUnit(group.slice(star + 1)) };
}

/** A counter like `00015` or a code like `003`; null for anything with a fraction or unit. */
export function parseInteger(group: string): number | null {
  const t = group.trim();
  return /^\d{1,15}$/.test(t) ? Number(t) : null;
}

/**
 * Equipment ids and messages are usually ASCII sent as hex (`4530…` = "E0…"). Decode when the
 * group is whole hex pairs that all give printable text; otherwise it was never encoded
 * (Kaifa's digit-only ids, heat-meter serials) and is returned unchanged.
 */
export function decodeHexText(group: string, allowLineBreaks = false): string {
  const t = group.trim();
  if (t.length === 0 || t.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(t)) return t;
  let out = '';
  for (let i = 0; i < t.length; i += 2) {
    const c = parseInt(t.slice(i, i + 2), 16);
    const printable = c >= 0x20 && c <= 0x7e;
    const lineBreak = allowLineBreaks && (c === 0x0a || c === 0x0d || c === 0x09);
    if (!printable && !lineBreak) return t;
    out += String.fromCharCode(c);
  }
  return out;
}
