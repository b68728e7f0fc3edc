/**
 * The characters of telegram syntax (docs/protocols/p1.md#telegram-framing), as the bytes the
 * readers compare.
 */

export const NUL = 0x00;
export const LF = 0x0a;
export const CR = 0x0d;
export const BANG = 0x21;
export const OPEN = 0x28;
export const CLOSE = 0x29;
export const STAR = 0x2a;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const ZERO = 0x30;
export const COLON = 0x3a;
