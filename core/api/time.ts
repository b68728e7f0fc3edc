/**
 * Times as people type them in a query or on the command line: Unix seconds (`1468006400`) or
 * ISO 8601 (`2016-07-08`, `2016-07-08T20:00:00Z`, `2016-07-08T22:00+02:00`). A date-time without
 * an offset is taken as UTC, not as the server's local time, so an answer does not depend on
 * where the server runs.
 */

const UNIX = /^\d{1,12}$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Unix seconds (rounded down), or undefined when the text is not a time. */
export function parseTime(text: string): number | undefined {
  const s = text.trim();
  if (UNIX.test(s)) return Number(s);
  const m = ISO.exec(s);
  if (!m || !realDate(Number(m[1]), Number(m[2]), Number(m[3]))) return undefined;
  const iso = m[4] === undefined ? s : m[7] === undefined ? `${s.replace(' ', 'T')}Z` : s.replace(' ', 'T');
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** Date.parse rolls 2016-02-30 over into March; such a day is a typo, not a time. */
function realDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/** `2016-07-08T20:13:20Z`: whole seconds, for tables. */
export const isoSeconds = (ts: number): string => new Date(ts * 1000).toISOString().replace('.000Z', 'Z');
