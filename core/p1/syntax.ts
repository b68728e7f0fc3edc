/**
 * The byte-level pieces of telegram syntax (ecosystem.md §E.4) shared by the line check and
 * the tokenizer: they read a telegram's bytes in place, so no line or code becomes a string
 * before it is known to be needed.
 */

export const NUL = 0x00;
export const LF = 0x0a;
export const CR = 0x0d;
export const OPEN = 0x28;
export const CLOSE = 0x29;
export const STAR = 0x2a;
export const PLUS = 0x2b;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const ZERO = 0x30;
export const COLON = 0x3a;

export const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** 1 to 3 digits from `i`: the position after them, or -1. */
function shortNumberEnd(b: Uint8Array, i: number): number {
  if (!isDigit(b[i])) return -1;
  if (!isDigit(b[i + 1])) return i + 1;
  if (!isDigit(b[i + 2])) return i + 2;
  return isDigit(b[i + 3]) ? -1 : i + 3;
}

/**
 * `A-B:C.D.E` with an optional `*F`, 1 to 3 digits each, from `i`: the position after it, or
 * -1. Whatever follows is the caller's business (a well-formed line goes on with `(`).
 */
export function obisCodeEnd(b: Uint8Array, i: number): number {
  i = shortNumberEnd(b, i);
  if (i < 0 || b[i] !== MINUS) return -1;
  i = shortNumberEnd(b, i + 1);
  if (i < 0 || b[i] !== COLON) return -1;
  i = shortNumberEnd(b, i + 1);
  if (i < 0 || b[i] !== DOT) return -1;
  i = shortNumberEnd(b, i + 1);
  if (i < 0 || b[i] !== DOT) return -1;
  i = shortNumberEnd(b, i + 1);
  return i >= 0 && b[i] === STAR ? shortNumberEnd(b, i + 1) : i;
}
