import type { Groups } from './groups';
import type { DemandPeak, MonthlyPeak } from './types';

/**
 * The Belgian capacity tariff objects (docs/protocols/p1.md#obis-codes). Since 2023 Flemish grid
 * fees follow the monthly peak of quarter-hour averages, so these are what Belgian users ask for.
 */

const OBIS_REF = /^\d+-\d+:\d+\.\d+\.\d+$/;

/** 1-0:1.6.0 `(time of peak)(value*kW)`. */
export function parseMonthPeak(values: Groups): DemandPeak | null {
  if (values.length !== 2) return null;
  const q = values.quantity(1);
  if (!q) return null;
  return { at: values.timestamp(0), value: q.value, unit: q.unit };
}

/**
 * 0-0:98.1.0 `(n)(1-0:1.6.0)(1-0:1.6.0)` then n × `(month start)(time of peak)(value*kW)`.
 * Other countries use 98.1.0 for unrelated billing data (E.ON HU sends a list of registers):
 * anything not in the Belgian shape gives null and stays raw.
 */
export function parsePeakHistory(values: Groups): MonthlyPeak[] | null {
  const n = values.integer(0);
  if (n === null || !OBIS_REF.test(values.text(1)) || !OBIS_REF.test(values.text(2))) return null;
  if (values.length < 3 + 3 * n) return null;
  const history: MonthlyPeak[] = [];
  for (let i = 0; i < n; i++) {
    const q = values.quantity(5 + 3 * i);
    if (!q) return null;
    history.push({ month: values.timestamp(3 + 3 * i), at: values.timestamp(4 + 3 * i), value: q.value, unit: q.unit });
  }
  return history;
}
