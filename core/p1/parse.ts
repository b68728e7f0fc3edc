import { parseMonthPeak, parsePeakHistory } from './capacity';
import { splitTelegram, type CosemObject } from './cosem';
import { isMbusObject, MbusCollector } from './mbus';
import { OBIS, SIMPLE_OBIS, type ObisTarget } from './obis';
import { parsePowerFailureLog } from './power-failures';
import { parseP1Timestamp } from './time';
import type { P1Header, P1Telegram } from './types';
import { decodeHexText, parseInteger, parseQuantity } from './values';

/**
 * Read a telegram into a P1Telegram. Total: any text gives a result, never an exception.
 * Unknown codes are kept raw; a known code whose value cannot be read is kept raw too, with a
 * warning, and the rest of the telegram is still used. Checking the CRC is check.ts's job.
 */
export function parseTelegram(text: string): P1Telegram {
  const lines = splitTelegram(text);
  const draft: Record<string, unknown> = {
    electricity: { delivered: {}, returned: {}, power: {}, phases: {} },
  };
  const unknown: Record<string, string[]> = {};
  const warnings = lines.junk.map((line) => `unreadable line ${JSON.stringify(line.slice(0, 80))}`);
  const mbus = new MbusCollector();
  let timestamp: P1Telegram['timestamp'] = null;

  for (const o of lines.objects) {
    let ok: boolean;
    if (isMbusObject(o)) {
      ok = mbus.add(o);
    } else if (o.obis === OBIS.timestamp) {
      timestamp = parseP1Timestamp(o.values[0] ?? '');
      ok = timestamp !== null;
    } else {
      ok = readStructured(draft, o) ?? readSimple(draft, o);
    }
    if (!ok) {
      unknown[o.obis] = o.values;
      if (isKnown(o)) warnings.push(`${o.obis}: cannot read (${o.values.join(')(')})`);
    }
  }

  const d = draft as Partial<P1Telegram>;
  // Fixed key order, so every telegram's JSON reads the same way.
  const t: P1Telegram = { header: parseHeader(lines.header) } as P1Telegram;
  if (d.p1Version !== undefined) t.p1Version = d.p1Version;
  if (d.emucsVersion !== undefined) t.emucsVersion = d.emucsVersion;
  t.timestamp = timestamp;
  if (d.equipmentId !== undefined) t.equipmentId = d.equipmentId;
  if (d.logicalDeviceName !== undefined) t.logicalDeviceName = d.logicalDeviceName;
  if (d.serialNumber !== undefined) t.serialNumber = d.serialNumber;
  t.electricity = d.electricity!;
  if (d.powerFailures !== undefined) t.powerFailures = d.powerFailures;
  if (d.messages !== undefined) t.messages = d.messages;
  if (d.capacity !== undefined) t.capacity = d.capacity;
  t.mbus = mbus.devices();
  t.unknown = unknown;
  t.warnings = warnings;
  return t;
}

/** `/FLU5\253769484_A`: manufacturer FLU, baud-rate character 5, then the meter's own text. */
export function parseHeader(line: string | null): P1Header {
  const raw = line ?? '';
  const m = /^([A-Za-z]{3})(.)([^]*)$/.exec(raw);
  return m ? { raw, manufacturer: m[1]!, identification: m[3]! } : { raw, manufacturer: null, identification: raw };
}

/**
 * Codes whose unreadable value deserves a warning. 98.1.0 is not among them: outside Belgium
 * it holds other data (E.ON HU billing registers), which is kept raw without complaint.
 */
const isKnown = (o: CosemObject): boolean =>
  isMbusObject(o) || SIMPLE_OBIS.has(o.obis) ||
  o.obis === OBIS.timestamp || o.obis === OBIS.powerFailureLog || o.obis === OBIS.monthPeak;

/** Objects with several value groups; undefined when `o` is not one of them. */
function readStructured(draft: Record<string, unknown>, o: CosemObject): boolean | undefined {
  switch (o.obis) {
    case OBIS.powerFailureLog: {
      const log = parsePowerFailureLog(o.values);
      return log !== null && setPath(draft, ['powerFailures', 'log'], log);
    }
    case OBIS.monthPeak: {
      const peak = parseMonthPeak(o.values);
      return peak !== null && setPath(draft, ['capacity', 'monthPeak'], peak);
    }
    case OBIS.peakHistory: {
      const history = parsePeakHistory(o.values);
      return history !== null && setPath(draft, ['capacity', 'history'], history);
    }
    default:
      return undefined;
  }
}

function readSimple(draft: Record<string, unknown>, o: CosemObject): boolean {
  const target = SIMPLE_OBIS.get(o.obis);
  if (!target || o.values.length !== 1) return false;
  const value = readValue(target, o.values[0]!);
  if (value === null) return false;
  // An empty group, e.g. no text message, is a valid "nothing": not stored, not an error.
  if (value !== undefined) setPath(draft, target.path, value, target.fallback);
  return true;
}

function readValue(target: ObisTarget, group: string): unknown {
  if (group.trim() === '' && target.kind !== 'quantity' && target.kind !== 'integer') return undefined;
  switch (target.kind) {
    case 'quantity':
      return parseQuantity(group);
    case 'integer':
      return parseInteger(group);
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
