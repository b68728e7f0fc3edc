import { createDecipheriv } from 'node:crypto';

/**
 * Luxembourg Smarty meters send each telegram encrypted (docs/protocols/p1.md#smarty; Smarty P1
 * specification v1.1.3 section 3.2.5):
 *
 *   DB | title length (8) | system title | 82 hi lo (length of what follows) |
 *   security byte (30) | frame counter (4) | ciphertext | GCM tag (12)
 *
 * AES-128-GCM with IV = system title ‖ frame counter and AAD = security byte ‖ AK, where AK is
 * the authentication key (the specification's default unless the grid operator gave another).
 */

export const SMARTY_START = 0xdb;
/** The Smarty specification's default authentication key. */
export const SMARTY_DEFAULT_AUTH_KEY = '00112233445566778899AABBCCDDEEFF';
const TAG_BYTES = 12;

export interface SmartyFrame {
  systemTitle: Buffer;
  securityByte: number;
  frameCounter: number;
  /** IV = system title ‖ frame counter */
  iv: Buffer;
  cipherText: Buffer;
  tag: Buffer;
  /** bytes the whole frame takes, start tag included */
  byteLength: number;
}

export type SmartyHeaderResult =
  | { kind: 'frame'; titleEnd: number; bodyStart: number; bodyLength: number }
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string };

/** Read the fixed part of a frame starting at `at`; the frame framer uses the same reading. */
export function readSmartyHeader(b: Uint8Array, at = 0): SmartyHeaderResult {
  const need = (n: number): boolean => b.length >= at + n;
  if (!need(2)) return { kind: 'incomplete' };
  if (b[at] !== SMARTY_START) return { kind: 'invalid', reason: `first byte should be 0xDB, got 0x${hex2(b[at]!)}` };
  const titleLength = b[at + 1]!;
  if (titleLength !== 8) return { kind: 'invalid', reason: `system title length should be 8, got ${titleLength}` };
  const titleEnd = at + 2 + titleLength;
  if (!need(titleEnd - at + 1)) return { kind: 'incomplete' };
  // BER length: short form below 0x80, else 0x81/0x82 followed by one or two length bytes.
  const first = b[titleEnd]!;
  const lengthBytes = first < 0x80 ? 0 : first & 0x7f;
  if (lengthBytes > 2) return { kind: 'invalid', reason: `length field 0x${hex2(first)} is not 1 or 2 bytes` };
  if (!need(titleEnd - at + 1 + lengthBytes)) return { kind: 'incomplete' };
  let bodyLength = lengthBytes === 0 ? first : 0;
  for (let i = 1; i <= lengthBytes; i++) bodyLength = (bodyLength << 8) | b[titleEnd + i]!;
  if (bodyLength < 5 + TAG_BYTES) return { kind: 'invalid', reason: `frame length ${bodyLength} is too short` };
  return { kind: 'frame', titleEnd, bodyStart: titleEnd + 1 + lengthBytes, bodyLength };
}

/** Split a complete frame into its parts; throws with a plain message when it is not one. */
export function parseSmartyFrame(frame: Uint8Array): SmartyFrame {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const h = readSmartyHeader(b);
  if (h.kind === 'incomplete') throw new Error(`Smarty frame is truncated: ${b.length} bytes`);
  if (h.kind === 'invalid') throw new Error(`not a Smarty frame: ${h.reason}`);
  const byteLength = h.bodyStart + h.bodyLength;
  if (b.length < byteLength) throw new Error(`Smarty frame is truncated: ${b.length} of ${byteLength} bytes`);
  const systemTitle = b.subarray(2, h.titleEnd);
  const counter = b.subarray(h.bodyStart + 1, h.bodyStart + 5);
  return {
    systemTitle,
    securityByte: b[h.bodyStart]!,
    frameCounter: counter.readUInt32BE(0),
    iv: Buffer.concat([systemTitle, counter]),
    cipherText: b.subarray(h.bodyStart + 5, byteLength - TAG_BYTES),
    tag: b.subarray(byteLength - TAG_BYTES, byteLength),
    byteLength,
  };
}

export interface SmartyKeys {
  /** the meter's decryption key (GUEK), 32 hex characters, from the grid operator */
  key: string;
  /**
   * Authentication key, 32 hex characters; the specification's default when absent. null
   * for meters and test vectors that authenticate no additional data at all.
   */
  authKey?: string | null;
}

/**
 * The plaintext telegram of a Smarty frame, as a latin1 string ready for check and parse.
 * A wrong key fails GCM authentication: that is reported, never garbage returned.
 */
export function decryptSmartyFrame(frame: Uint8Array, keys: SmartyKeys): string {
  const key = keyBytes(keys.key, 'key');
  const f = parseSmartyFrame(frame);
  const aad =
    keys.authKey === null
      ? Buffer.alloc(0)
      : Buffer.concat([
          Buffer.from([f.securityByte]),
          keyBytes(keys.authKey ?? SMARTY_DEFAULT_AUTH_KEY, 'authentication key'),
        ]);
  const decipher = createDecipheriv('aes-128-gcm', key, f.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(f.tag);
  const plain = decipher.update(f.cipherText);
  try {
    decipher.final();
  } catch {
    throw new Error(
      'Smarty decryption failed: check the key (and the authentication key, if your grid operator gave one)',
    );
  }
  return plain.toString('latin1');
}

function keyBytes(text: string, what: string): Buffer {
  const t = text.trim();
  if (!/^[0-9A-Fa-f]{32}$/.test(t)) throw new Error(`Smarty ${what} must be 32 hex characters (16 bytes)`);
  return Buffer.from(t, 'hex');
}

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');
