import { parseP1Timestamp } from './time';
import type { PowerFailureEvent } from './types';
import { parseInteger, parseQuantity } from './values';

/**
 * 1-0:99.97.0, the long power failure log: `(n)(0-0:96.7.19)` then n × `(end time)(duration*s)`.
 * Null when the shape does not match, so the caller keeps it raw.
 */
export function parsePowerFailureLog(values: string[]): PowerFailureEvent[] | null {
  const n = parseInteger(values[0] ?? '');
  if (n === null || values.length < 2 + 2 * n) return null;
  const events: PowerFailureEvent[] = [];
  for (let i = 0; i < n; i++) {
    const duration = parseQuantity(values[3 + 2 * i]!);
    if (!duration) return null;
    events.push({ end: parseP1Timestamp(values[2 + 2 * i]!), duration });
  }
  return events;
}
