/**
 * DSMR timestamps `YYMMDDhhmmss[S|W]` are local time in the Netherlands, Belgium and
 * Luxembourg, which share CET/CEST (ecosystem.md §E.4). The flag says which offset applies:
 * W = UTC+1, S = UTC+2; it disambiguates the repeated autumn hour, so it wins over the calendar.
 */

export interface P1Time {
  /** Unix seconds, UTC */
  unix: number;
  /** the same instant as ISO 8601 in UTC, e.g. "2016-11-13T19:57:57Z" */
  iso: string;
  /** true for the S flag, false for W, null when the meter sent no flag */
  dst: boolean | null;
}

const HOUR = 3600;
const DAY = 86_400;

/**
 * A DSMR timestamp in UTC, or null for anything that is not a real date. Meters send
 * placeholders such as `632525252525W` in unused slots; those are data, not errors.
 * Read digit by digit: a Belgian telegram carries a dozen timestamps, every second.
 */
export function parseP1Timestamp(raw: string): P1Time | null {
  const t = raw.length === 12 || raw.length === 13 ? raw : raw.trim();
  if (t.length !== 12 && t.length !== 13) return null;
  const two = (i: number): number => {
    const a = t.charCodeAt(i) - 48;
    const b = t.charCodeAt(i + 1) - 48;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
  };
  const year = 2000 + two(0);
  const month = two(2);
  const day = two(4);
  const hour = two(6);
  const minute = two(8);
  const second = two(10);
  if (year < 2000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return null;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || day > daysInMonth(year, month)) return null;
  const flag = t.length === 13 ? t[12] : '';
  if (flag !== '' && flag !== 'S' && flag !== 'W') return null;
  const local = daysFromCivil(year, month, day) * DAY + hour * HOUR + minute * 60 + second;
  const dst = flag === 'S' ? true : flag === 'W' ? false : null;
  const summer = dst ?? isSummerLocal(local, year);
  return p1Time(local - (summer ? 2 * HOUR : HOUR), dst);
}

export function p1Time(unix: number, dst: boolean | null = null): P1Time {
  return { unix, iso: isoSeconds(unix), dst };
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `YYYY-MM-DDThh:mm:ssZ` without going through Date, which costs more than the rest of a timestamp. */
function isoSeconds(unix: number): string {
  const days = Math.floor(unix / DAY);
  const rest = unix - days * DAY;
  const [y, m, d] = civilFromDays(days);
  const hh = Math.floor(rest / HOUR);
  const mm = Math.floor((rest % HOUR) / 60);
  return `${y}-${pad2(m)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(rest % 60)}Z`;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeap(year) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (the well-known civil-date arithmetic). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The inverse of daysFromCivil: [year, month, day]. */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** Day of the month of the last Sunday of `month` (1-based). */
function lastSunday(year: number, month: number): number {
  const last = daysInMonth(year, month);
  // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
  const weekday = (((daysFromCivil(year, month, last) + 4) % 7) + 7) % 7;
  return last - weekday;
}

/**
 * EU summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
 * Sunday of October. Without a flag the repeated autumn hour is read as summer time (its
 * first occurrence) and the skipped spring hour as winter time.
 */
function isSummerLocal(localAsUtc: number, year: number): boolean {
  const begins = daysFromCivil(year, 3, lastSunday(year, 3)) * DAY + HOUR;
  const ends = daysFromCivil(year, 10, lastSunday(year, 10)) * DAY + HOUR;
  const ifSummer = localAsUtc - 2 * HOUR;
  return ifSummer >= begins && ifSummer < ends;
}
