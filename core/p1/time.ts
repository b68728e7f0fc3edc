/**
 * DSMR timestamps `YYMMDDhhmmss[S|W]` are the meter's local time: CET/CEST in the Netherlands,
 * Belgium, Luxembourg, Austria and Hungary, GMT/IST in Ireland. The meter's time zone (a P1
 * source setting, Europe/Brussels by default) gives the offset; the S/W flag only settles the
 * repeated autumn hour, where both offsets are real. A flag that contradicts the zone (meters
 * flag S in February, or W in July) is not believed: the zone's calendar wins.
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
 * A meter's time zone. Zones that follow the EU summer-time rule (one hour more from 01:00 UTC
 * on the last Sunday of March to 01:00 UTC on the last Sunday of October) are reckoned here
 * from their standard offset alone; any other zone asks Intl for its offsets.
 */
export interface MeterZone {
  /** IANA name, e.g. Europe/Brussels */
  name: string;
  /** standard (winter) offset from UTC, seconds */
  standard: number;
  /** follows the EU summer-time rule */
  eu: boolean;
}

export const DEFAULT_METER_ZONE_NAME = 'Europe/Brussels';
/** Brussels, Amsterdam, Luxembourg, Vienna and Budapest alike: UTC+1, UTC+2 in summer. */
export const DEFAULT_METER_ZONE: MeterZone = { name: DEFAULT_METER_ZONE_NAME, standard: HOUR, eu: true };

/** The zone of an IANA name; throws a RangeError naming it when Intl does not know it. */
export function meterZone(name: string): MeterZone {
  const zone = name.trim();
  if (zone === DEFAULT_METER_ZONE_NAME) return DEFAULT_METER_ZONE;
  let offset: (unix: number) => number;
  try {
    offset = intlOffset(zone);
  } catch {
    throw new RangeError(
      `meter time zone "${name}" is not a time zone (use an IANA name such as Europe/Brussels or Europe/Dublin)`,
    );
  }
  const standard = offset(Date.UTC(2021, 0, 15) / 1000);
  const eu = [2021, 2026].every((y) => {
    const [begins, ends] = euSummer(y);
    return (
      offset(begins - 1) === standard &&
      offset(begins) === standard + HOUR &&
      offset(ends - 1) === standard + HOUR &&
      offset(ends) === standard &&
      offset(daysFromCivil(y, 7, 15) * DAY) === standard + HOUR &&
      offset(daysFromCivil(y, 12, 15) * DAY) === standard
    );
  });
  return { name: zone, standard, eu };
}

/** Seconds east of UTC that `zone` is at `unix`, from Intl's wall clock there. */
function intlOffset(zone: string): (unix: number) => number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return (unix) => {
    const p: Record<string, number> = {};
    for (const part of f.formatToParts(unix * 1000)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return daysFromCivil(p.year!, p.month!, p.day!) * DAY + p.hour! * HOUR + p.minute! * 60 + p.second! - unix;
  };
}

const zoneOffsets = new Map<string, (unix: number) => number>();

/** The year's EU summer time in Unix seconds, [begins, ends); the last year asked is kept (a telegram's times share one). */
let summerYear = -1;
let summerSpan: [number, number] = [0, 0];
function euSummer(year: number): [number, number] {
  if (year !== summerYear) {
    summerSpan = [
      daysFromCivil(year, 3, lastSunday(year, 3)) * DAY + HOUR,
      daysFromCivil(year, 10, lastSunday(year, 10)) * DAY + HOUR,
    ];
    summerYear = year;
  }
  return summerSpan;
}

/**
 * Unix seconds of local wall time `local` (seconds, read as if UTC) in `zone`. Where the wall
 * time happened twice, `dst` picks the summer (true) or winter (false) one, the first without
 * a flag; where it never happened (the skipped spring hour), the flag's offset is taken, else
 * the standard one.
 */
function zonedUnix(local: number, year: number, zone: MeterZone, dst: boolean | null): number {
  let winter: number;
  let summer: number;
  let winterReal: boolean;
  let summerReal: boolean;
  if (zone.eu) {
    const [begins, ends] = euSummer(year);
    winter = local - zone.standard;
    summer = winter - HOUR;
    summerReal = summer >= begins && summer < ends;
    winterReal = winter < begins || winter >= ends;
  } else {
    let offset = zoneOffsets.get(zone.name);
    if (!offset) zoneOffsets.set(zone.name, (offset = intlOffset(zone.name)));
    const a = offset(local - DAY);
    const b = offset(local + DAY);
    winter = local - Math.min(a, b);
    summer = local - Math.max(a, b);
    winterReal = offset(winter) === Math.min(a, b);
    summerReal = offset(summer) === Math.max(a, b);
  }
  if (summerReal && winterReal) return dst === false ? winter : summer;
  if (summerReal) return summer;
  if (winterReal) return winter;
  return dst === true ? summer : winter;
}

/**
 * A DSMR timestamp in UTC, or null for anything that is not a real date. Meters send
 * placeholders such as `632525252525W` in unused slots; those are data, not errors.
 * Read digit by digit: a Belgian telegram carries a dozen timestamps, every second.
 */
export function parseP1Timestamp(raw: string, zone: MeterZone = DEFAULT_METER_ZONE): P1Time | null {
  const t = raw.length === 12 || raw.length === 13 ? raw : raw.trim();
  if (t.length !== 12 && t.length !== 13) return null;
  const two = (i: number): number => {
    const a = t.charCodeAt(i) - 48;
    const b = t.charCodeAt(i + 1) - 48;
    return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
  };
  return fromFields(two(0), two(2), two(4), two(6), two(8), two(10), t.length === 13 ? t.charCodeAt(12) : -1, zone);
}

/** parseP1Timestamp of `text[start, end)`, read from `bytes`, which hold the same characters. */
export function p1TimestampAt(
  text: string,
  bytes: Uint8Array,
  start: number,
  end: number,
  zone: MeterZone = DEFAULT_METER_ZONE,
): P1Time | null {
  if (end - start !== 12 && end - start !== 13) return parseP1Timestamp(text.slice(start, end), zone);
  return fromFields(
    twoDigits(bytes, start),
    twoDigits(bytes, start + 2),
    twoDigits(bytes, start + 4),
    twoDigits(bytes, start + 6),
    twoDigits(bytes, start + 8),
    twoDigits(bytes, start + 10),
    end - start === 13 ? bytes[start + 12]! : -1,
    zone,
  );
}

/** The two digits at `i` as a number, or -1. */
function twoDigits(bytes: Uint8Array, i: number): number {
  const a = bytes[i]! - 48;
  const b = bytes[i + 1]! - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const S = 0x53;
const W = 0x57;

/** Two-digit fields (-1 when not two digits) and the flag's character code (-1 for none). */
function fromFields(
  yy: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  flag: number,
  zone: MeterZone,
): P1Time | null {
  const year = 2000 + yy;
  if (year < 2000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return null;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || day > daysInMonth(year, month)) return null;
  if (flag !== -1 && flag !== S && flag !== W) return null;
  // An unset M-Bus capture time is the Unix epoch in local time (700101010000W); read with a
  // two-digit year it would be 2070.
  if (yy === 70 && month === 1 && day === 1) return null;
  const local = daysFromCivil(year, month, day) * DAY + hour * HOUR + minute * 60 + second;
  const dst = flag === S ? true : flag === W ? false : null;
  const unix = zonedUnix(local, year, zone, dst);
  const offsetHours = (local - unix) / HOUR;
  if (!Number.isInteger(offsetHours) || offsetHours < 0 || offsetHours > 23)
    return { unix, iso: isoSeconds(unix), dst };
  // The UTC date is the local one unless taking the offset off the hour crosses midnight.
  let utcYear = year;
  let utcMonth = month;
  let utcDay = day;
  let utcHour = hour - offsetHours;
  if (utcHour < 0) {
    utcHour += 24;
    if (--utcDay === 0) {
      if (--utcMonth === 0) {
        utcMonth = 12;
        utcYear--;
      }
      utcDay = daysInMonth(utcYear, utcMonth);
    }
  }
  return { unix, iso: isoFields(utcYear, utcMonth, utcDay, utcHour, minute, second), dst };
}

const pad2 = (n: number): string => (n < 10 ? '0' : '') + n;

/** `YYYY-MM-DDThh:mm:ssZ` without going through Date, which costs more than the rest of a timestamp. */
function isoSeconds(unix: number): string {
  const days = Math.floor(unix / DAY);
  const rest = unix - days * DAY;
  const [y, m, d] = civilFromDays(days);
  return isoFields(y, m, d, Math.floor(rest / HOUR), Math.floor((rest % HOUR) / 60), rest % 60);
}

/** Twenty characters made at once cost a quarter of a template's pieces. */
function isoFields(y: number, m: number, d: number, hh: number, mm: number, ss: number): string {
  if (!(y >= 1000 && y <= 9999 && Number.isInteger(ss)))
    return `${y}-${pad2(m)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}Z`;
  return String.fromCharCode(
    0x30 + Math.floor(y / 1000),
    0x30 + (Math.floor(y / 100) % 10),
    0x30 + (Math.floor(y / 10) % 10),
    0x30 + (y % 10),
    0x2d,
    0x30 + Math.floor(m / 10),
    0x30 + (m % 10),
    0x2d,
    0x30 + Math.floor(d / 10),
    0x30 + (d % 10),
    0x54,
    0x30 + Math.floor(hh / 10),
    0x30 + (hh % 10),
    0x3a,
    0x30 + Math.floor(mm / 10),
    0x30 + (mm % 10),
    0x3a,
    0x30 + Math.floor(ss / 10),
    0x30 + (ss % 10),
    0x5a,
  );
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
