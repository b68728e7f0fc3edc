import { readFileSync } from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import { backgroundClock, type Clock } from '../util/clock';
import { bodyExcerpt, type UploadClient } from './client';
import { digestMatches } from './digest';

/**
 * The version number the heartbeat reports. The server only compares it with the upgrade
 * number it offers, and an offer is never acted on here, so any plausible firmware number does.
 */
const DEFAULT_HEARTBEAT_VERSION = 250;
const HEARTBEAT_INTERVAL_MS = 3_600_000;

/** fluksod's syslog line for a reply that fails the digest check (docs/protocols/upload.md#heartbeat) */
export const BAD_DIGEST_MESSAGE = 'Incorrect digest in the heartbeat reply. Discard response.';

export interface HeartbeatOptions {
  client: Pick<UploadClient, 'post' | 'url' | 'deviceKey'>;
  deviceId: string;
  /** 1 at boot, 0 for the hourly ones: the server counts resets */
  reset: boolean;
  version?: number;
  /** the local REST API's port, reported to the server */
  port?: number;
  /** defaults to the first external IPv4 address */
  ip?: string;
  /** text sent gzipped and base64'd as the device log; nothing of ours by default */
  syslog?: string;
  /** Unix seconds */
  now?: () => number;
  signal?: AbortSignal;
}

export interface UpgradeOffer {
  /** `upgrade`: the server offers firmware N > ours; `reboot`: N equals ours, which asks for a reboot */
  kind: 'upgrade' | 'reboot';
  version: number;
}

export type HeartbeatResult =
  /** `offer` is only reported: nothing is downloaded, run or rebooted */
  | { kind: 'ok'; url: string; upgrade: number; timestamp?: number; offer?: UpgradeOffer }
  | { kind: 'bad-digest'; url: string; message: string }
  | { kind: 'http-error'; url: string; status: number; excerpt: string }
  | { kind: 'network-error'; url: string; error: string }
  | { kind: 'bad-reply'; url: string; error: string };

/** The request body (docs/protocols/upload.md#heartbeat), keys in the firmware's order. */
export function heartbeatBody(o: Omit<HeartbeatOptions, 'client' | 'deviceId' | 'signal'>): string {
  const mem = memInfo();
  return JSON.stringify({
    reset: o.reset ? 1 : 0,
    version: o.version ?? DEFAULT_HEARTBEAT_VERSION,
    time: (o.now ?? (() => Math.floor(Date.now() / 1000)))(),
    uptime: Math.floor(os.uptime()),
    memtotal: mem.total,
    memcached: mem.cached,
    membuffers: mem.buffers,
    memfree: mem.free,
    syslog: gzipSync(Buffer.from(o.syslog ?? '', 'utf8')).toString('base64'),
    ip: o.ip ?? firstIpv4(),
    port: o.port ?? 8080,
  });
}

/**
 * `POST <base>device/<did>`. The reply counts only with status 200 and an X-Digest that
 * is the HMAC of its body under our key; anything else is discarded. An upgrade or reboot the
 * server asks for is returned as `offer` and goes no further: this module downloads nothing
 * and starts no process.
 */
export async function sendHeartbeat(o: HeartbeatOptions): Promise<HeartbeatResult> {
  const path = `device/${encodeURIComponent(o.deviceId)}`;
  const url = o.client.url(path);
  const key = o.client.deviceKey;
  const r = await o.client.post(path, heartbeatBody(o), o.signal, { Connection: 'close' });
  if (!('status' in r)) return { kind: 'network-error', url, error: r.error };
  if (r.status !== 200) return { kind: 'http-error', url, status: r.status, excerpt: bodyExcerpt(r.body) };
  const digest = r.headers['x-digest'];
  if (!digestMatches(key, r.body, typeof digest === 'string' ? digest : undefined))
    return { kind: 'bad-digest', url, message: BAD_DIGEST_MESSAGE };
  let reply: unknown;
  try {
    reply = JSON.parse(r.body.toString('utf8'));
  } catch {
    return { kind: 'bad-reply', url, error: 'reply is not JSON' };
  }
  const { upgrade, timestamp } = (reply ?? {}) as { upgrade?: unknown; timestamp?: unknown };
  if (typeof upgrade !== 'number' || !Number.isInteger(upgrade))
    return { kind: 'bad-reply', url, error: 'reply has no integer "upgrade"' };
  const version = o.version ?? DEFAULT_HEARTBEAT_VERSION;
  const result: HeartbeatResult = { kind: 'ok', url, upgrade };
  if (typeof timestamp === 'number') result.timestamp = timestamp;
  if (upgrade > version) result.offer = { kind: 'upgrade', version: upgrade };
  else if (upgrade === version && upgrade > 0) result.offer = { kind: 'reboot', version: upgrade };
  return result;
}

export interface HeartbeatLoop {
  stop(): void;
}

/** A heartbeat now with reset=1, as at boot, then one every interval with reset=0. */
export function startHeartbeat(
  o: Omit<HeartbeatOptions, 'reset' | 'signal'> & {
    intervalMs?: number;
    clock?: Clock;
    onResult: (r: HeartbeatResult) => void;
  },
): HeartbeatLoop {
  const clock = o.clock ?? backgroundClock;
  const abort = new AbortController();
  let timer: unknown;
  let stopped = false;
  const beat = (reset: boolean) => {
    if (stopped) return;
    sendHeartbeat({ ...o, reset, signal: abort.signal })
      .then((r) => !stopped && o.onResult(r))
      .catch(
        (err: unknown) =>
          !stopped &&
          o.onResult({
            kind: 'network-error',
            url: o.client.url(`device/${o.deviceId}`),
            error: (err as Error).message,
          }),
      )
      .finally(() => {
        if (!stopped) timer = clock.setTimeout(() => beat(false), o.intervalMs ?? HEARTBEAT_INTERVAL_MS);
      });
  };
  beat(true);
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      abort.abort();
    },
  };
}

/** kB, as the firmware's sysinfo reports them; cached and buffers where /proc/meminfo has them. */
function memInfo(): { total: number; free: number; cached: number; buffers: number } {
  const out = { total: Math.floor(os.totalmem() / 1024), free: Math.floor(os.freemem() / 1024), cached: 0, buffers: 0 };
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    out.cached = Number(/^Cached:\s+(\d+)/m.exec(text)?.[1] ?? 0);
    out.buffers = Number(/^Buffers:\s+(\d+)/m.exec(text)?.[1] ?? 0);
  } catch {
    // not Linux: the server takes zeros
  }
  return out;
}

function firstIpv4(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
