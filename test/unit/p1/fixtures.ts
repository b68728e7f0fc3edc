import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { p1FixturesDir } from '../../support/paths';

/** A fixture's bytes as a latin1 string (one character per byte), as the framer emits telegrams. */
export function fixture(name: string): string {
  return readFileSync(join(p1FixturesDir, name)).toString('latin1');
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(join(p1FixturesDir, name));
}

/** Telegrams whose CRC is right (SOURCES.md). */
export const VALID_CRC = [
  'dsmr42-nl-kaifa.txt',
  'dsmr5-nl.txt',
  'dsmr5-nl-two-mbus.txt',
  'dsmr5-nl-heat-unpadded-crc.txt',
  'dsmr5-be-fluvius.txt',
  'dsmr5-be-fluvius-alt.txt',
  'dsmr5-at-sagemcom-t210dr.txt',
  'dsmr5-hu-eon.txt',
  'iskra-ie.txt',
  'smarty-lu.txt',
];

/** Telegrams whose CRC is wrong on purpose (SOURCES.md), with the CRC they should carry. */
export const BAD_CRC: ReadonlyArray<[name: string, carried: number, actual: number]> = [
  ['smarty-lu-encrypted.decrypted.txt', 0xcfde, 0x99bd],
  ['be-emucs-2.1.1-spec-example.txt', 0x1234, 0x74e0],
  ['smarty-lu-spec-example.txt', 0x8b52, 0x6da1],
];

/** DSMR 2.2/3 and EasyMeter Q3D carry no CRC. */
export const NO_CRC = ['dsmr22-nl.txt', 'dsmr3-nl.txt', 'q3d-easymeter.txt'];

export const ALL_TELEGRAMS = [...VALID_CRC, ...BAD_CRC.map(([n]) => n), ...NO_CRC];

/** The telegram part of a fixture: `/` through the CRC digits and CR LF (drops Q3D's trailer). */
export function telegramOf(text: string): string {
  const bang = text.indexOf('!');
  const m = /^!([0-9A-F]{0,4})/.exec(text.slice(bang))!;
  return text.slice(0, bang + m[0].length) + '\r\n';
}

/**
 * Bit-at-a-time CRCs straight from the definitions (CRC catalogue parameters), to check the
 * table-driven ones against something that shares no code with them.
 */
export function referenceCrc(bytes: Uint8Array, poly: number, init: number, xorOut: number): number {
  let crc = init;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ poly : crc >>> 1;
  }
  return (crc ^ xorOut) & 0xffff;
}

/** Put `crc` (CRC-16/ARC unless told) on a telegram body that ends with `!`. */
export function withCrc(bodyThroughBang: string, crc?: number): string {
  const c = crc ?? referenceCrc(Buffer.from(bodyThroughBang, 'latin1'), 0xa001, 0, 0);
  return bodyThroughBang + c.toString(16).toUpperCase().padStart(4, '0') + '\r\n';
}

/** ISO string to Unix seconds, computed by Date rather than by the code under test. */
export const unixOf = (iso: string): number => Date.parse(iso) / 1000;
