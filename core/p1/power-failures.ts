import type { Groups } from './groups';
import type { PowerFailureEvent } from './types';

/**
 * 1-0:99.97.0, the long power failure log: `(n)(0-0:96.7.19)` then n × `(end time)(duration*s)`.
 * Null when the shape does not match, so the caller keeps it raw.
 */
export function parsePowerFailureLog(values: Groups): PowerFailureEvent[] | null {
  const n = values.integer(0);
  if (n === null || values.length < 2 + 2 * n) return null;
  const events: PowerFailureEvent[] = [];
  for (let i = 0; i < n; i++) {
    const duration = values.quantity(3 + 2 * i);
    if (!duration) return null;
    events.push({ end: values.timestamp(2 + 2 * i), duration });
  }
  return events;
}
