import { crc16Arc, crc16X25, formatCrc } from './crc16';

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
const OBJECT_LINE = /^\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(?:\*\d{1,3})?(?:\([^()]*\))+$/;
const CONTINUATION_LINE = /^(?:\([^()]*\))+$/;
const OBJECT_LINE_ANYWHERE = /\n\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}[*(]/;
/** Markers of DSMR 4 and later (P1 version ≥ 4.0, or a Belgian e-MUCS version): those carry a CRC. */
const NEEDS_CRC = /\n(?:1-3:0\.2\.8\((?:[4-9]\d)\)|0-0:96\.1\.4\()/;

export function checkTelegram(telegram: string, options: CheckOptions = {}): CheckResult {
  const mode = options.mode ?? 'strict';
  const variant = options.variant ?? 'arc';
  const start = telegram.indexOf('/');
  const bang = start === -1 ? -1 : telegram.indexOf('!', start);
  if (bang === -1) return { accepted: false, status: 'malformed', message: 'no telegram: a "/" start and a "!" end are needed' };
  if (mode === 'off') return { accepted: true, status: 'unchecked' };

  const digits = /^[0-9A-Fa-f]{0,4}/.exec(telegram.slice(bang + 1, bang + 5))![0];
  const rest = telegram.slice(bang + 1 + digits.length);
  const verdict = (status: CheckStatus, message: string, extra: Partial<CheckResult> = {}): CheckResult =>
    ({ accepted: mode === 'warn', status, ...extra, message });

  if (!/^\0?\s*$/.test(rest)) return verdict('malformed', 'unexpected characters after the CRC');
  const body = telegram.slice(start, bang + 1);
  if (digits === '') return checkWithoutCrc(body, verdict);

  const expected = parseInt(digits, 16);
  const arc = crc16Arc(telegram, start, bang + 1);
  const x25 = variant === 'arc' ? -1 : crc16X25(telegram, start, bang + 1);
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
  const problem = lineProblem(body);
  if (problem) return verdict('malformed', problem, { expected, computed, variant: matched });
  return { accepted: true, status: 'valid', variant: matched, expected, computed };
}

/** A CRC-less telegram: a `/XXX5` header, well-formed lines and at least one object. */
function checkWithoutCrc(body: string, verdict: (s: CheckStatus, m: string) => CheckResult): CheckResult {
  if (NEEDS_CRC.test(body)) return verdict('missing-crc', 'a DSMR 4+ telegram must carry a CRC');
  if (!HEADER.test(body)) return verdict('malformed', 'the header line is not "/XXX5…"');
  const problem = lineProblem(body);
  if (problem) return verdict('malformed', problem);
  if (!OBJECT_LINE_ANYWHERE.test(body)) return verdict('malformed', 'no COSEM object lines');
  return { accepted: true, status: 'no-crc' };
}

/**
 * The FLM's corruption check (flm-firmware.md §6.4): after the header, every line is a COSEM
 * object, a continuation or blank, each ends in CR LF, and `!` starts the last line.
 */
function lineProblem(body: string): string | null {
  const lines = body.split('\n');
  if (lines[lines.length - 1] !== '!') return 'the "!" end is not on a line of its own';
  for (let i = 1; i < lines.length - 1; i++) {
    const line = lines[i]!;
    if (!line.endsWith('\r')) return `line ${i + 1} does not end in CR LF`;
    const content = line.slice(0, -1);
    if (content !== '' && !OBJECT_LINE.test(content) && !CONTINUATION_LINE.test(content)) {
      return `line ${i + 1} is not a COSEM object`;
    }
  }
  return null;
}
