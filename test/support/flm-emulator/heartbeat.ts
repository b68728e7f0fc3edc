import { flmDigest } from './digest';
import { FlmHttpConnection, type Endpoint } from './http-connection';
import { heartbeatBody, requestBytes, type HeartbeatFields } from './http-request';

/**
 * heartbeat.lua (docs/protocols/upload.md#heartbeat): `POST /device/<did>` with `Connection: close`, peer
 * not verified; the reply counts only when it is a 200 whose X-Digest is the HMAC of its body with
 * the device key.
 */

export type HeartbeatOutcome =
  | { ok: true; upgrade: number; timestamp: number }
  | { ok: false; reason: 'no answer' | 'status' | 'digest' | 'body'; status?: number };

export async function sendHeartbeat(
  endpoint: Endpoint,
  host: string,
  did: string,
  keyHex: string,
  fields: HeartbeatFields,
): Promise<HeartbeatOutcome> {
  const conn = new FlmHttpConnection({ ...endpoint, verify: false });
  const bytes = requestBytes({
    host,
    path: `/device/${did}`,
    version: fields.version,
    connection: 'close',
    keyHex,
    body: heartbeatBody(fields),
  });
  try {
    const res = await conn.request(bytes).catch(() => undefined);
    if (!res) return { ok: false, reason: 'no answer' };
    if (res.status !== 200) return { ok: false, reason: 'status', status: res.status };
    if (res.headers['x-digest'] !== flmDigest(keyHex, res.body)) return { ok: false, reason: 'digest', status: 200 };
    try {
      const o = JSON.parse(res.body.toString('utf8')) as { upgrade: number; timestamp: number };
      return { ok: true, upgrade: o.upgrade, timestamp: o.timestamp };
    } catch {
      return { ok: false, reason: 'body', status: 200 };
    }
  } finally {
    conn.close();
  }
}

/** Plausible FLM02 system figures (luci.sys.sysinfo on a 32 MB board) and an empty gzipped log. */
export function heartbeatFields(version: number, now: number, uptime: number, reset: 0 | 1): HeartbeatFields {
  return {
    reset,
    version,
    time: now,
    uptime,
    memtotal: 29824,
    memcached: 6092,
    membuffers: 2168,
    memfree: 8432,
    // gzip of an empty logread, base64
    syslog: 'H4sIAAAAAAAAAwMAAAAAAAAAAAA=',
    ip: '192.168.1.50',
    port: 8080,
  };
}
