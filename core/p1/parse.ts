import { parseMonthPeak, parsePeakHistory } from './capacity';
import { codeKey, obisOf, tokensOf, valuesOf, type TelegramTokens } from './cosem';
import { Groups } from './groups';
import { MBUS_CODES, MbusCollector } from './mbus';
import { OBIS, SIMPLE_OBIS, type ObisTarget } from './obis';
import { parsePowerFailureLog } from './power-failures';
import { MINUS, ZERO } from './syntax';
import type { MeterZone } from './time';
import type { P1Header, P1Telegram } from './types';
import { decodeHexText, integerAt, quantityAt } from './values';

export interface ParseOptions {
  /** the meter's time zone, for its timestamps (default Europe/Brussels) */
  zone?: MeterZone;
}

/**
 * Read a telegram into a P1Telegram. Total: any text gives a result, never an exception.
 * Unknown codes are kept raw; a known code whose value cannot be read is kept raw too, with a
 * warning, and the rest of the telegram is still used. Checking the CRC is check.ts's job.
 */
export function parseTelegram(text: string, options: ParseOptions = {}): P1Telegram {
  const tokens = tokensOf(text);
  const state: ParseState = {
    tokens,
    groups: new Groups(tokens, options.zone),
    draft: { electricity: { delivered: {}, returned: {}, power: {}, phases: {} } },
    timestamp: null,
    mbus: new MbusCollector(),
  };
  const unknown: Record<string, string[]> = {};
  const warnings = tokens.junk.map((line) => `unreadable line ${JSON.stringify(line.slice(0, 80))}`);
  const b = tokens.bytes;

  for (let k = 0; k < tokens.count; k++) {
    let ok: boolean;
    let known: boolean;
    const at = tokens.obisStart[k]!;
    if (tokens.channel[k]! >= 1 && b[at] === ZERO && b[at + 1] === MINUS) {
      ok = state.mbus.add(tokens.channel[k]!, MBUS_CODES.get(tokens.cdeKey[k]!), state.groups.of(k));
      known = true;
    } else {
      const reader = READERS.get(tokens.key[k]!);
      ok = reader !== undefined && reader.read(state, k);
      known = reader !== undefined && reader.known;
    }
    if (!ok) {
      // Only now do the code and its groups become text.
      const obis = obisOf(tokens, k);
      const values = valuesOf(tokens, k);
      unknown[obis] = values;
      if (known) warnings.push(`${obis}: cannot read (${values.join(')(')})`);
    }
  }

  const d = state.draft as Partial<P1Telegram>;
  // Fixed key order, so every telegram's JSON reads the same way.
  const t: P1Telegram = { header: parseHeader(tokens.header) } as P1Telegram;
  if (d.p1Version !== undefined) t.p1Version = d.p1Version;
  if (d.emucsVersion !== undefined) t.emucsVersion = d.emucsVersion;
  t.timestamp = state.timestamp;
  if (d.equipmentId !== undefined) t.equipmentId = d.equipmentId;
  if (d.logicalDeviceName !== undefined) t.logicalDeviceName = d.logicalDeviceName;
  if (d.serialNumber !== undefined) t.serialNumber = d.serialNumber;
  t.electricity = d.electricity!;
  if (d.powerFailures !== undefined) t.powerFailures = d.powerFailures;
  if (d.messages !== undefined) t.messages = d.messages;
  if (d.capacity !== undefined) t.capacity = d.capacity;
  t.mbus = state.mbus.devices();
  t.unknown = unknown;
  t.warnings = warnings;
  return t;
}

/** `/FLU5\253769484_A`: manufacturer FLU, baud-rate character 5, then the meter's own text. */
export function parseHeader(line: string | null): P1Header {
  const raw = line ?? '';
  const shaped =
    raw.length >= 4 &&
    isLetter(raw.charCodeAt(0)) &&
    isLetter(raw.charCodeAt(1)) &&
    isLetter(raw.charCodeAt(2)) &&
    !isLineTerminator(raw.charCodeAt(3));
  return shaped
    ? { raw, manufacturer: raw.slice(0, 3), identification: raw.slice(4) }
    : { raw, manufacturer: null, identification: raw };
}

const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** What a regular expression's `.` does not match. */
const isLineTerminator = (c: number): boolean => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;

interface ParseState {
  tokens: TelegramTokens;
  /** the groups of the object being read */
  groups: Groups;
  draft: Record<string, unknown>;
  timestamp: P1Telegram['timestamp'];
  mbus: MbusCollector;
}

/**
 * How to read object k of the telegram; false when its value cannot be read. `known` codes
 * deserve a warning then; 98.1.0 is not among them: outside Belgium it holds other data (E.ON
 * HU billing registers), which is kept raw without complaint.
 */
interface Reader {
  known: boolean;
  read(state: ParseState, k: number): boolean;
}

/** Every code read here, apart from the M-Bus channels: one lookup per object. */
const READER_LIST: Array<[string, Reader]> = [];
for (const [obis, target] of SIMPLE_OBIS) {
  READER_LIST.push([obis, { known: true, read: (state, k) => readSimple(state, k, target) }]);
}
READER_LIST.push([
  OBIS.timestamp,
  {
    known: true,
    read(state, k) {
      state.timestamp = state.groups.of(k).timestamp(0);
      return state.timestamp !== null;
    },
  },
]);
READER_LIST.push([
  OBIS.powerFailureLog,
  {
    known: true,
    read(state, k) {
      const log = parsePowerFailureLog(state.groups.of(k));
      return log !== null && setPath(state.draft, ['powerFailures', 'log'], log);
    },
  },
]);
READER_LIST.push([
  OBIS.monthPeak,
  {
    known: true,
    read(state, k) {
      const peak = parseMonthPeak(state.groups.of(k));
      return peak !== null && setPath(state.draft, ['capacity', 'monthPeak'], peak);
    },
  },
]);
READER_LIST.push([
  OBIS.peakHistory,
  {
    known: false,
    read(state, k) {
      const history = parsePeakHistory(state.groups.of(k));
      return history !== null && setPath(state.draft, ['capacity', 'history'], history);
    },
  },
]);
const READERS = new Map(READER_LIST.map(([obis, reader]) => [keyOf(obis), reader]));

/** The number scanTelegram gives this code. */
function keyOf(obis: string): number {
  const { key } = codeKey(obis);
  if (key < 0) throw new Error(`${obis} cannot be looked up by number`);
  return key;
}

function readSimple(state: ParseState, k: number, target: ObisTarget): boolean {
  const t = state.tokens;
  const j = t.firstGroup[k]!;
  if (t.firstGroup[k + 1]! - j !== 1) return false;
  const value = readValue(target, t, t.groupStart[j]!, t.groupEnd[j]!);
  if (value === null) return false;
  // An empty group, e.g. no text message, is a valid "nothing": not stored, not an error.
  if (value !== undefined) setPath(state.draft, target.path, value, target.fallback);
  return true;
}

function readValue(target: ObisTarget, t: TelegramTokens, start: number, end: number): unknown {
  switch (target.kind) {
    case 'quantity':
      return quantityAt(t.text, t.bytes, start, end);
    case 'integer':
      return integerAt(t.text, t.bytes, start, end);
  }
  const group = t.text.slice(start, end);
  if (group.trim() === '') return undefined;
  switch (target.kind) {
    case 'text':
      return group.trim();
    case 'hexText':
      return decodeHexText(group);
    case 'message':
      return decodeHexText(group, true);
  }
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown, fallback = false): true {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    let next = node[path[i]!] as Record<string, unknown> | undefined;
    if (next === undefined) node[path[i]!] = next = {};
    node = next;
  }
  const leaf = path[path.length - 1]!;
  if (!fallback || node[leaf] === undefined) node[leaf] = value;
  return true;
}
