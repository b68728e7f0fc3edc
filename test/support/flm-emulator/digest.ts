import { createHmac } from 'node:crypto';

/**
 * X-Digest as the FLM computes it (docs/protocols/upload.md#measurements): lowercase hex
 * HMAC-SHA1 of the exact body bytes, keyed with the ASCII text of the 32-hex device key (the
 * firmware hands the uci string to its HMAC, it never decodes the key to 16 bytes).
 */
export function flmDigest(keyHex: string, body: Buffer | string): string {
  return createHmac('sha1', Buffer.from(keyHex, 'ascii')).update(body).digest('hex');
}
