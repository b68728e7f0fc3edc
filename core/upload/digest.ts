import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The FLM's X-Digest (docs/protocols/upload.md#x-digest): lowercase hex HMAC-SHA1 of the exact body
 * bytes. The key is the ASCII text of the 32-hex device key, not the 16 bytes it spells: that is
 * what the firmware's hmac call is given and what the server recomputes with.
 */
export function xDigest(deviceKey: string, body: string | Uint8Array): string {
  return createHmac('sha1', Buffer.from(deviceKey, 'ascii')).update(body).digest('hex');
}

const DIGEST_SHAPE = /^[0-9a-f]{40}$/;

/**
 * Whether `digest` is the X-Digest of `body`. The server takes exactly 40 hex digits; case is
 * forgiven here because a proxy or another server may print it in capitals. Compared in
 * constant time, so a reply cannot be forged one byte at a time.
 */
export function digestMatches(deviceKey: string, body: string | Uint8Array, digest: string | undefined): boolean {
  if (digest === undefined) return false;
  const given = digest.trim().toLowerCase();
  if (!DIGEST_SHAPE.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, 'ascii'), Buffer.from(xDigest(deviceKey, body), 'ascii'));
}

/** A device key as the FLM keeps it: 32 lowercase hex characters. */
export function isDeviceKey(key: string): boolean {
  return /^[0-9a-f]{32}$/.test(key);
}
