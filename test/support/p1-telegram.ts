import { fixture, withCrc } from '../unit/p1/fixtures';

/** A DSMR timestamp `YYMMDDhhmmss` + S/W of `ms` in Brussels, from Intl (not from the code under test). */
export function brusselsStamp(ms: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Brussels', hourCycle: 'h23', year: '2-digit', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    }).formatToParts(ms).map((p) => [p.type, p.value]),
  );
  const local = Date.UTC(2000 + Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
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

const kwh = (v: number) => `${v.toFixed(3).padStart(10, '0')}*kWh`;
const m3 = (v: number) => `${v.toFixed(3).padStart(9, '0')}*m3`;

/**
 * The Fluvius e-MUCS fixture (dsmr5-be-fluvius.txt) with the times, registers and M-Bus volumes
 * given, and its CRC computed again: a Belgian meter as it speaks today.
 */
export function belgianTelegram(t: BelgianTelegram): string {
  const text = fixture('dsmr5-be-fluvius.txt');
  const body = text.slice(0, text.indexOf('!') + 1)
    .replace(/^0-0:1\.0\.0\(\d{12}[SW]\)/m, `0-0:1.0.0(${brusselsStamp(t.at)})`)
    .replace(/^1-0:1\.8\.1\(.*\)$/m, `1-0:1.8.1(${kwh(t.registers[0])})`)
    .replace(/^1-0:1\.8\.2\(.*\)$/m, `1-0:1.8.2(${kwh(t.registers[1])})`)
    .replace(/^1-0:2\.8\.1\(.*\)$/m, `1-0:2.8.1(${kwh(t.registers[2])})`)
    .replace(/^1-0:2\.8\.2\(.*\)$/m, `1-0:2.8.2(${kwh(t.registers[3])})`)
    .replace(/^0-1:24\.2\.3\(.*\)$/m, `0-1:24.2.3(${brusselsStamp(t.capturedAt)})(${m3(t.gas)})`)
    .replace(/^0-2:24\.2\.1\(.*\)$/m, `0-2:24.2.1(${brusselsStamp(t.capturedAt)})(${m3(t.water)})`);
  return withCrc(body);
}
