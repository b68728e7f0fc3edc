import { parseP1Timestamp } from './time';
import type { DemandPeak, MonthlyPeak } from './types';
import { parseInteger, parseQuantity } from './values';

/**
 * The Belgian capacity tariff objects (ecosystem.md §E.5, §G.3). Since 2023 Flemish grid fees
 * follow the monthly peak of quarter-hour averages, so these are what Belgian users ask for.
 */

const OBIS_REF = /^\d+-\d+:\d+\.\d+\.\d+$/;

/** 1-0:1.6.0 `(time of peak)(value*kW)`. */
export function parseMonthPeak(values: string[]): DemandPeak | null {
  if (values.length !== 2) return null;
  const q = parseQuantity(values[1]!);
  if (!q) return null;
  return { at: parseP1Timestamp(values[0]!), value: q.value, unit: q.unit };
}

/**
 * 0-0:98.1.0 `(n)(1-0:1.6.0)(1-0:1.6.0)` then n × `(month start)(time of peak)(value*kW)`.
 * Other countries use 98.1.0 for unrelated billing data (E.ON HU sends a list of registers):
 * anything not in the Belgian shape gives null and stays raw.
 */
export function parsePeakHistory(values: string[]): MonthlyPeak[] | null {
  const n = parseInteger(values[0] ?? '');
  if (n === null || !OBIS_REF.test(values[1] ?? '') || !OBIS_REF.test(values[2] ?? '')) return null;
  if (values.length < 3 + 3 * n) return null;
  const history: MonthlyPeak[] = [];
  for (let i = 0; i < n; i++) {
    const [month, at, value] = values.slice(3 + 3 * i, 6 + 3 * i) as [string, string, string];
    const q = parseQuantity(value);
    if (!q) return null;
    history.push({ month: parseP1Timestamp(month), at: parseP1Timestamp(at), value: q.value, unit: q.unit });
  }
  return history;
}
