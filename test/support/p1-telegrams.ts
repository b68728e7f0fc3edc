/** P1 telegrams built at run time from real fixtures, with the values and times a test's meter holds. */
import { fixture, telegramOf, withCrc } from '../unit/p1/fixtures';

/** A DSMR timestamp `YYMMDDhhmmss` + S/W of `ms` in Brussels, from Intl (not from the code under test). */
function brusselsStamp(ms: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Brussels',
      hourCycle: 'h23',
      year: '2-digit',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  const local = Date.UTC(
    2000 + Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const summer = Math.round((local - Math.floor(ms / 1000) * 1000) / 3_600_000) === 2;
  return `${parts.year}${parts.month}${parts.day}${parts.hour}${parts.minute}${parts.second}${summer ? 'S' : 'W'}`;
}

export interface BelgianTelegram {
  /** the telegram's time, ms */
  at: number;
  /** when gas and water were captured, ms */
  capturedAt: number;
  /** kWh on 1.8.1, 1.8.2 (import day, night) and 2.8.1, 2.8.2 (export) */
  registers: [number, number, number, number];
  /** m³ */
  gas: number;
  water: number;
}

const kwh = (v: number, width = 10) => v.toFixed(3).padStart(width, '0');

/**
 * The Fluvius e-MUCS fixture (dsmr5-be-fluvius.txt) with the times, registers and M-Bus volumes
 * given, through its `!`: a Belgian meter as it speaks today, ready for a CRC (or a wrong digit first).
 */
function belgianBody(t: BelgianTelegram): string {
  const text = telegramOf(fixture('dsmr5-be-fluvius.txt'));
  return text
    .slice(0, text.indexOf('!') + 1)
    .replace(/^0-0:1\.0\.0\(\d{12}[SW]\)/m, `0-0:1.0.0(${brusselsStamp(t.at)})`)
    .replace(/^1-0:1\.8\.1\([^*]*/m, `1-0:1.8.1(${kwh(t.registers[0])}`)
    .replace(/^1-0:1\.8\.2\([^*]*/m, `1-0:1.8.2(${kwh(t.registers[1])}`)
    .replace(/^1-0:2\.8\.1\([^*]*/m, `1-0:2.8.1(${kwh(t.registers[2])}`)
    .replace(/^1-0:2\.8\.2\([^*]*/m, `1-0:2.8.2(${kwh(t.registers[3])}`)
    .replace(/^0-1:24\.2\.3\([^)]*\)\([^*]*/m, `0-1:24.2.3(${brusselsStamp(t.capturedAt)})(${kwh(t.gas, 9)}`)
    .replace(/^0-2:24\.2\.1\([^)]*\)\([^*]*/m, `0-2:24.2.1(${brusselsStamp(t.capturedAt)})(${kwh(t.water, 9)}`);
}

/** belgianBody with its CRC. */
export const belgianTelegram = (t: BelgianTelegram): string => withCrc(belgianBody(t));

/** What the meter holds at one moment: registers in Wh and L. */
export interface Meter {
  /** Unix seconds */
  t: number;
  imp1: number;
  imp2: number;
  exp1: number;
  exp2: number;
  gas: number;
  gasAt: number;
  water: number;
}

/** The Belgian DSMR 5 fixture with the meter's values and time, through its `!` (no CRC yet). */
export function dsmr5(m: Meter): string {
  return belgianBody({
    at: m.t * 1000,
    capturedAt: m.gasAt * 1000,
    registers: [m.imp1 / 1000, m.imp2 / 1000, m.exp1 / 1000, m.exp2 / 1000],
    gas: m.gas / 1000,
    water: m.water / 1000,
  });
}

/** The Dutch DSMR 3 fixture (no time, no CRC) with the meter's values. */
export function dsmr3(m: Meter): string {
  const k = (wh: number) => kwh(wh / 1000, 9);
  return telegramOf(fixture('dsmr3-nl.txt'))
    .replace(/1-0:1\.8\.1\([^*]*/, `1-0:1.8.1(${k(m.imp1)}`)
    .replace(/1-0:1\.8\.2\([^*]*/, `1-0:1.8.2(${k(m.imp2)}`)
    .replace(/1-0:2\.8\.1\([^*]*/, `1-0:2.8.1(${k(m.exp1)}`)
    .replace(/1-0:2\.8\.2\([^*]*/, `1-0:2.8.2(${k(m.exp2)}`)
    .replace(/0-1:24\.3\.0\(\d{12}\)/, `0-1:24.3.0(${brusselsStamp(m.gasAt * 1000).slice(0, 12)})`)
    .replace(/\r\n\(\d{5}\.\d{3}\)/, `\r\n(${k(m.gas)})`);
}

/** One digit of one register's value changed to another digit. */
export function wrongDigit(text: string, rnd: () => number): { text: string; what: string } {
  const lines = [...text.matchAll(/(?:1-0:[12]\.8\.[12]\(|0-[12]:24\.2\.[13]\([^)]*\)\(|\r\n\()(\d+\.\d+)/g)];
  const m = lines[Math.floor(rnd() * lines.length)]!;
  const start = m.index! + m[0].length - m[1]!.length;
  const digits = [...m[1]!].map((c, i) => (c === '.' ? -1 : start + i)).filter((i) => i >= 0);
  const at = digits[Math.floor(rnd() * digits.length)]!;
  const was = Number(text[at]);
  const now = (was + 1 + Math.floor(rnd() * 9)) % 10;
  return { text: text.slice(0, at) + now + text.slice(at + 1), what: `${m[0].slice(0, 12)}… digit ${was}→${now}` };
}
