import { checkTelegram, type CheckOptions, type CheckResult } from './check';
import { parseTelegram, type ParseOptions } from './parse';
import type { P1Telegram } from './types';

export type DecodeResult =
  { ok: true; telegram: P1Telegram; check: CheckResult } | { ok: false; check: CheckResult; error: string };

/** Check, then parse what the check accepts: the one call a node or CLI needs per telegram. */
export function decodeTelegram(text: string, options: CheckOptions & ParseOptions = {}): DecodeResult {
  const check = checkTelegram(text, options);
  if (!check.accepted) return { ok: false, check, error: check.message ?? `telegram rejected (${check.status})` };
  return { ok: true, telegram: parseTelegram(text, options.zone ? { zone: options.zone } : {}), check };
}
