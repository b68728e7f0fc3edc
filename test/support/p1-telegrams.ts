/** P1 telegrams built at run time from real fixtures, with the values a test's meter holds. */
import { fixture, telegramOf } from '../unit/p1/fixtures';

/** What the meter holds at one moment: registers in Wh and L. */
export interface Meter {
  /** Unix seconds */
  t: number;
  imp1: number; imp2: number; exp1: number; exp2: number;
  gas: number; gasAt: number; water: number;
}

const kwh = (wh: number, width: number) => (wh / 1000).toFixed(3).padStart(width, '0');
/** Local Brussels winter time (UTC+1), as the meter writes it. */
export function dsmrTime(unix: number): string {
  const d = new Date((unix + 3600) * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}W`;
}

/** The Belgian DSMR 5 fixture with the meter's values and time; the register lines, for corrupting. */
export function dsmr5(m: Meter): string {
  return telegramOf(fixture('dsmr5-be-fluvius.txt'))
    .replace(/0-0:1\.0\.0\([^)]*\)/, `0-0:1.0.0(${dsmrTime(m.t)})`)
    .replace(/1-0:1\.8\.1\([^*]*/, `1-0:1.8.1(${kwh(m.imp1, 10)}`)
    .replace(/1-0:1\.8\.2\([^*]*/, `1-0:1.8.2(${kwh(m.imp2, 10)}`)
    .replace(/1-0:2\.8\.1\([^*]*/, `1-0:2.8.1(${kwh(m.exp1, 10)}`)
    .replace(/1-0:2\.8\.2\([^*]*/, `1-0:2.8.2(${kwh(m.exp2, 10)}`)
    .replace(/0-1:24\.2\.3\([^)]*\)\([^*]*/, `0-1:24.2.3(${dsmrTime(m.gasAt)})(${kwh(m.gas, 9)}`)
    .replace(/0-2:24\.2\.1\([^)]*\)\([^*]*/, `0-2:24.2.1(${dsmrTime(m.gasAt)})(${kwh(m.water, 9)}`)
    .replace(/!.*\r\n$/, '!');
}

/** The Dutch DSMR 3 fixture (no time, no CRC) with the meter's values. */
export function dsmr3(m: Meter): string {
  return telegramOf(fixture('dsmr3-nl.txt'))
    .replace(/1-0:1\.8\.1\([^*]*/, `1-0:1.8.1(${kwh(m.imp1, 9)}`)
    .replace(/1-0:1\.8\.2\([^*]*/, `1-0:1.8.2(${kwh(m.imp2, 9)}`)
    .replace(/1-0:2\.8\.1\([^*]*/, `1-0:2.8.1(${kwh(m.exp1, 9)}`)
    .replace(/1-0:2\.8\.2\([^*]*/, `1-0:2.8.2(${kwh(m.exp2, 9)}`)
    .replace(/0-1:24\.3\.0\(\d{12}\)/, `0-1:24.3.0(${dsmrTime(m.gasAt).slice(0, 12)})`)
    .replace(/\r\n\(\d{5}\.\d{3}\)/, `\r\n(${kwh(m.gas, 9)})`);
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

