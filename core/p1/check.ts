import { arcOfBytes, crc16Arc, crc16X25, formatCrc, x25OfBytes } from './crc16';
import { isLatin1, Latin1Scratch } from './latin1';
import { CLOSE, CR, LF, OPEN, obisCodeEnd } from './syntax';

/**
 * Whether a framed telegram may be used (ecosystem.md §E.2, §G.1). The CRC covers every byte
 * from `/` through `!`. Telegrams without one (DSMR 2.2/3, EasyMeter Q3D) can only be judged
 * by their shape, which is the FLM's own corruption check (flm-firmware.md §6.4).
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

const isHexDigit = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

export function checkTelegram(telegram: string, options: CheckOptions = {}): CheckResult {
  const mode = options.mode ?? 'strict';
  const variant = options.variant ?? 'arc';
  const start = telegram.indexOf('/');
  const bang = start === -1 ? -1 : telegram.indexOf('!', start);
  if (bang === -1) return { accepted: false, status: 'malformed', message: 'no telegram: a "/" start and a "!" end are needed' };
  if (mode === 'off') return { accepted: true, status: 'unchecked' };

  let crcEnd = bang + 1;
  while (crcEnd < bang + 5 && crcEnd < telegram.length && isHexDigit(telegram.charCodeAt(crcEnd))) crcEnd++;
  const digits = telegram.slice(bang + 1, crcEnd);
  const verdict = (status: CheckStatus, message: string, extra: Partial<CheckResult> = {}): CheckResult =>
    ({ accepted: mode === 'warn', status, ...extra, message });

  if (!endsRight(telegram, crcEnd)) return verdict('malformed', 'unexpected characters after the CRC');
  // A character above U+00FF is no byte: the CRC counts its low byte, the line check sees it as
  // none of the characters a telegram is made of.
  const latin1 = isLatin1(telegram);
  const bytes = latin1 ? scratch.bytes(telegram) : scratch.structure(telegram);
  if (digits === '') return checkWithoutCrc(telegram.slice(start, bang + 1), bytes, start, bang, verdict);

  const expected = parseInt(digits, 16);
  const arc = latin1 ? arcOfBytes(bytes, start, bang + 1) : crc16Arc(telegram, start, bang + 1);
  const x25 = variant === 'arc' ? -1 : latin1 ? x25OfBytes(bytes, start, bang + 1) : crc16X25(telegram, start, bang + 1);
  const computed = variant === 'x25' ? x25 : arc;
  const matched = variant !== 'x25' && arc === expected ? 'arc' : variant !== 'arc' && x25 === expected ? 'x25' : undefined;
  if (!matched) {
    return verdict('mismatch', `CRC mismatch: telegram says ${digits}, computed ${formatCrc(computed)}`, { expected, computed });
  }
  // DSMR prints the CRC in upper case; a lower-case digit is a changed byte the CRC cannot see.
  if (digits !== digits.toUpperCase()) {
    return verdict('malformed', `CRC ${digits} is not upper-case hex`, { expected, computed, variant: matched });
  }
  // A 16-bit CRC lets one damaged telegram in 65536 through; damage that also breaks the line
  // structure is caught here instead, so strict mode does not pass such a collision on.
  const problem = lineProblem(bytes, start, bang);
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
  body: string, bytes: Uint8Array, start: number, bang: number, verdict: (s: CheckStatus, m: string) => CheckResult,
): CheckResult {
  if (NEEDS_CRC.test(body)) return verdict('missing-crc', 'a DSMR 4+ telegram must carry a CRC');
  if (!HEADER.test(body)) return verdict('malformed', 'the header line is not "/XXX5…"');
  const problem = lineProblem(bytes, start, bang);
  if (problem) return verdict('malformed', problem);
  if (!OBJECT_LINE_ANYWHERE.test(body)) return verdict('malformed', 'no COSEM object lines');
  return { accepted: true, status: 'no-crc' };
}

/**
 * The FLM's corruption check (flm-firmware.md §6.4) over the telegram `/` at `start` through
 * `!` at `bang`: after the header, every line is a COSEM object
 * `A-B:C.D.E[*F](…)(…)`, a continuation `(…)(…)` or blank, each ends in CR LF, and `!` starts
 * the last line. A value group holds anything but parentheses (and line ends). Read in one pass
 * over the bytes: a telegram a second, each line checked as it is read.
 */
function lineProblem(b: Uint8Array, start: number, bang: number): string | null {
  if (b[bang - 1] !== LF) return 'the "!" end is not on a line of its own';
  let p = start;
  while (b[p] !== LF) p++;
  // b[bang - 1] is LF, so every line from here on finds its end before the "!".
  for (let line = 2; p < bang - 1; line++) {
    const from = p + 1;
    p = cosemLineEnd(b, from);
    if (p < 0) {
      let nl = from;
      while (b[nl] !== LF) nl++;
      return nl > from && b[nl - 1] === CR ? `line ${line} is not a COSEM object` : `line ${line} does not end in CR LF`;
    }
  }
  return null;
}

/**
 * The LF ending a well-formed line that starts at `i` (blank, object or continuation, then CR
 * LF), or -1. Only called where an LF follows somewhere, which bounds every loop here.
 */
function cosemLineEnd(b: Uint8Array, i: number): number {
  if (b[i] === CR) return b[i + 1] === LF ? i + 1 : -1;
  if (b[i] !== OPEN) {
    i = obisCodeEnd(b, i);
    if (i < 0 || b[i] !== OPEN) return -1;
  }
  for (;;) {
    // b[i] is "(": the group runs to the next parenthesis, which must close it.
    let c = b[++i]!;
    while (c !== OPEN && c !== CLOSE && c !== LF) c = b[++i]!;
    if (c !== CLOSE) return -1;
    c = b[++i]!;
    if (c === OPEN) continue;
    return c === CR && b[i + 1] === LF ? i + 1 : -1;
  }
}
