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
  if (t.length === 0 || t.length % 2 !== 0) return t;
  const codes = new Array<number>(t.length / 2);
  for (let i = 0; i < codes.length; i++) {
    const high = hexValue(t.charCodeAt(2 * i));
    const low = hexValue(t.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) return t;
    const c = high * 16 + low;
    const printable = c >= 0x20 && c <= 0x7e;
    const lineBreak = allowLineBreaks && (c === 0x0a || c === 0x0d || c === 0x09);
    if (!printable && !lineBreak) return t;
    codes[i] = c;
  }
  // One string made at once (a piece at a time for long text, which arguments cannot carry);
  // adding a character at a time builds a chain of pieces.
  if (codes.length <= CHUNK) return String.fromCharCode(...codes);
  let out = '';
  for (let i = 0; i < codes.length; i += CHUNK) out += String.fromCharCode(...codes.slice(i, i + CHUNK));
  return out;
}

const CHUNK = 4096;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/*
 * The same readings straight from a telegram's bytes, for the values nearly every telegram
 * carries. Only the plain shapes are read here (`-12.5*kWh`, `00015`); anything else, spaces
 * included, goes to the functions above, so both give the same answer for every group.
 */

/** Powers of ten that are exact doubles. */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * `text[start, end)` read as parseQuantity would (`bytes` holds the same characters). A
 * decimal whose digits make a whole number below 2^53, with at most 22 decimals, is that
 * number divided by a power of ten: both exact doubles, so the one rounding of the division
 * gives what Number() gives. Longer numbers go to Number().
 */
export function quantityAt(text: string, bytes: Uint8Array, start: number, end: number): Quantity | null {
  let i = start;
  const sign = bytes[i];
  if (sign === 0x2d || sign === 0x2b) i++;
  let mantissa = 0;
  let digits = 0;
  let decimals = -1;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === 0x2e && decimals < 0) {
      decimals = 0;
    } else {
      break;
    }
  }
  if (digits === 0 || (i < end && bytes[i] !== 0x2a) || mantissa > Number.MAX_SAFE_INTEGER || decimals > 22) {
    return parseQuantity(text.slice(start, end));
  }
  let value = decimals > 0 ? mantissa / EXACT_POWERS_OF_TEN[decimals]! : mantissa;
  if (sign === 0x2d) value = -value;
  if (i === end) return { value, unit: null };
  const unit = knownUnit(bytes, i + 1, end);
  return { value, unit: unit !== undefined ? unit : normalizeUnit(text.slice(i + 1, end)) };
}

/** `text[start, end)` read as parseInteger would. */
export function integerAt(text: string, bytes: Uint8Array, start: number, end: number): number | null {
  if (end - start < 1 || end - start > 15) return parseInteger(text.slice(start, end));
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) return parseInteger(text.slice(start, end));
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** The units meters send, as normalizeUnit gives them, found by their bytes without making a string. */
const UNITS_BY_FIRST_BYTE: Array<Array<[bytes: Uint8Array, unit: string | null]>> = Array.from(
  { length: 256 },
  () => [],
);
for (const u of [
  'kWh',
  'kW',
  'Wh',
  'W',
  'MWh',
  'MW',
  'V',
  'A',
  'm3',
  'm\xb3',
  's',
  'Hz',
  'GJ',
  'MJ',
  'kvarh',
  'kvar',
  'varh',
  'var',
  'kVA',
  'VA',
  'kVAh',
  'L',
  'l',
  'dm3',
]) {
  const bytes = Buffer.from(u, 'latin1');
  UNITS_BY_FIRST_BYTE[bytes[0]!]!.push([bytes, normalizeUnit(u)]);
}

/** The unit in `bytes[start, end)` if it is one of UNITS (null for none), else undefined. */
function knownUnit(bytes: Uint8Array, start: number, end: number): string | null | undefined {
  if (start === end) return null;
  for (const [candidate, unit] of UNITS_BY_FIRST_BYTE[bytes[start]!]!) {
    if (candidate.length !== end - start) continue;
    let i = 1;
    while (i < candidate.length && candidate[i] === bytes[start + i]) i++;
    if (i === candidate.length) return unit;
  }
  return undefined;
}
