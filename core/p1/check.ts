import { arcOfBytes, crc16Arc, crc16X25, formatCrc, x25OfBytes } from './crc16';
import { isLatin1, Latin1Scratch } from './latin1';
import { scanForCheck } from './cosem';
import { CR, LF } from './syntax';

/**
 * Whether a framed telegram may be used (docs/protocols/p1.md#crc16). The CRC covers every byte
 * from `/` through `!`. Telegrams without one (DSMR 2.2/3, EasyMeter Q3D) can only be judged
 * by their shape, which is the FLM's own corruption check.
 */

/** strict: reject what fails; warn: accept with a warning; off: do not check. */
export type CrcMode = 'strict' | 'warn' | 'off';
/** arc: DSMR's CRC-16/ARC; x25: CRC-16/X-25 (Holley); auto: either. */
export type CrcVariant = 'arc' | 'x25' | 'auto';

export interface CheckOptions {
  mode?: CrcMode;
  variant?: CrcVariant;
}

export type CheckStatus =
  /** the CRC matches */
  | 'valid'
  /** no CRC, as the format allows, and the telegram is well formed */
  | 'no-crc'
  /** the CRC does not match */
  | 'mismatch'
  /** a DSMR 4+ telegram arrived without the CRC the standard requires */
  | 'missing-crc'
  /** not shaped like a telegram */
  | 'malformed'
  /** mode off */
  | 'unchecked';

export interface CheckResult {
  accepted: boolean;
  status: CheckStatus;
  /** the CRC variant that matched */
  variant?: 'arc' | 'x25';
  /** the CRC the telegram carries */
  expected?: number;
  /** the CRC computed over it (CRC-16/ARC unless the variant asked is x25) */
  computed?: number;
  /** what is wrong; set for every status but valid, no-crc and unchecked */
  message?: string;
}

const HEADER = /^\/[A-Za-z]{3}\d/;
const OBJECT_LINE_ANYWHERE = /\n\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}[*(]/;
/** Markers of DSMR 4 and later (P1 version ≥ 4.0, or a Belgian e-MUCS version): those carry a CRC. */
const NEEDS_CRC = /\n(?:1-3:0\.2\.8\((?:[4-9]\d)\)|0-0:96\.1\.4\()/;
/** What may follow the CRC digits: the line end, possibly after the NUL some meters send. */
const AFTER_CRC = /^\0?\s*$/;

const scratch = new Latin1Scratch();

const isHexDigit = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

export function checkTelegram(telegram: string, options: CheckOptions = {}): CheckResult {
  const mode = options.mode ?? 'strict';
  const variant = options.variant ?? 'arc';
  const start = telegram.indexOf('/');
  const bang = start === -1 ? -1 : telegram.indexOf('!', start);
  if (bang === -1)
    return { accepted: false, status: 'malformed', message: 'no telegram: a "/" start and a "!" end are needed' };
  if (mode === 'off') return { accepted: true, status: 'unchecked' };

  let crcEnd = bang + 1;
  while (crcEnd < bang + 5 && crcEnd < telegram.length && isHexDigit(telegram.charCodeAt(crcEnd))) crcEnd++;
  const digits = telegram.slice(bang + 1, crcEnd);
  const verdict = (status: CheckStatus, message: string, extra: Partial<CheckResult> = {}): CheckResult => ({
    accepted: mode === 'warn',
    status,
    ...extra,
    message,
  });

  if (!endsRight(telegram, crcEnd)) return verdict('malformed', 'unexpected characters after the CRC');
  if (digits === '') return checkWithoutCrc(telegram, telegram.slice(start, bang + 1), verdict);

  const expected = parseInt(digits, 16);
  // A character above U+00FF is no byte: the CRC counts its low byte, as it always has.
  const bytes = isLatin1(telegram) ? scratch.bytes(telegram) : undefined;
  const arc = bytes ? arcOfBytes(bytes, start, bang + 1) : crc16Arc(telegram, start, bang + 1);
  const x25 = variant === 'arc' ? -1 : bytes ? x25OfBytes(bytes, start, bang + 1) : crc16X25(telegram, start, bang + 1);
  const computed = variant === 'x25' ? x25 : arc;
  const matched =
    variant !== 'x25' && arc === expected ? 'arc' : variant !== 'arc' && x25 === expected ? 'x25' : undefined;
  if (!matched) {
    return verdict('mismatch', `CRC mismatch: telegram says ${digits}, computed ${formatCrc(computed)}`, {
      expected,
      computed,
    });
  }
  // DSMR prints the CRC in upper case; a lower-case digit is a changed byte the CRC cannot see.
  if (digits !== digits.toUpperCase()) {
    return verdict('malformed', `CRC ${digits} is not upper-case hex`, { expected, computed, variant: matched });
  }
  // A 16-bit CRC lets one damaged telegram in 65536 through; damage that also breaks the line
  // structure is caught here instead, so strict mode does not pass such a collision on. The
  // scan that finds it is the tokenizer's, kept for the parseTelegram that usually follows.
  const problem = scanForCheck(telegram).lineProblem;
  if (problem) return verdict('malformed', problem, { expected, computed, variant: matched });
  return { accepted: true, status: 'valid', variant: matched, expected, computed };
}

/** Nothing but the line end after the CRC digits (CR LF from the framer, any spacing otherwise). */
function endsRight(telegram: string, crcEnd: number): boolean {
  const left = telegram.length - crcEnd;
  if (left === 2 && telegram.charCodeAt(crcEnd) === CR && telegram.charCodeAt(crcEnd + 1) === LF) return true;
  return left === 0 || AFTER_CRC.test(telegram.slice(crcEnd));
}

/** A CRC-less telegram: a `/XXX5` header, well-formed lines and at least one object. */
function checkWithoutCrc(
  telegram: string,
  body: string,
  verdict: (s: CheckStatus, m: string) => CheckResult,
): CheckResult {
  if (NEEDS_CRC.test(body)) return verdict('missing-crc', 'a DSMR 4+ telegram must carry a CRC');
  if (!HEADER.test(body)) return verdict('malformed', 'the header line is not "/XXX5…"');
  const problem = scanForCheck(telegram).lineProblem;
  if (problem) return verdict('malformed', problem);
  if (!OBJECT_LINE_ANYWHERE.test(body)) return verdict('malformed', 'no COSEM object lines');
  return { accepted: true, status: 'no-crc' };
}
