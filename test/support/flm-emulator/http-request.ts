import { flmDigest } from './digest';

/**
 * The bytes of the FLM's HTTP requests (fluksod's measurement upload and the heartbeat), built
 * from the firmware's wire description (docs/protocols/upload.md), not from our own upload client:
 * request line, then Host (HTTP/1.1 needs it, the firmware's HTTP client adds it), then the
 * headers in the order the description lists them, CRLF line ends, then the body.
 */

export interface FlmRequestParts {
  /** host[:port] as written in the Host header */
  host: string;
  /** e.g. /sensor/<sid> (the base URL's path, normally "/", plus "sensor/<sid>") */
  path: string;
  /** the numeric firmware version (250 for FLM02 2.5.0) */
  version: number;
  /** the last request of a round says close */
  connection: 'keep-alive' | 'close';
  keyHex: string;
  body: string;
}

/** One reading as uploaded: [unix seconds, integer counter]. */
export type Measurement = readonly [number, number];

/** `{"measurements":[[ts,counter],...]}`, compact, times ascending, integer counters only. */
export function measurementsBody(points: readonly Measurement[]): string {
  let out = '{"measurements":[';
  for (let i = 0; i < points.length; i++) {
    const [ts, counter] = points[i]!;
    if (!Number.isInteger(ts) || !Number.isInteger(counter))
      throw new RangeError(`the FLM uploads whole seconds and integer counters, got [${ts},${counter}]`);
    out += `${i ? ',' : ''}[${ts},${counter}]`;
  }
  return `${out}]}`;
}

export function requestBytes(p: FlmRequestParts): Buffer {
  const body = Buffer.from(p.body, 'utf8');
  const head =
    `POST ${p.path} HTTP/1.1\r\n` +
    `Host: ${p.host}\r\n` +
    'Content-Type: application/json\r\n' +
    'X-Version: 1.0\r\n' +
    `User-Agent: Fluksometer v${p.version}\r\n` +
    `Connection: ${p.connection}\r\n` +
    `Content-Length: ${body.length}\r\n` +
    `X-Digest: ${flmDigest(p.keyHex, body)}\r\n` +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** The heartbeat's JSON body (heartbeat.lua's fields, in the order the description lists them). */
export interface HeartbeatFields {
  reset: 0 | 1;
  version: number;
  time: number;
  uptime: number;
  memtotal: number;
  memcached: number;
  membuffers: number;
  memfree: number;
  /** base64 of the gzipped logread output */
  syslog: string;
  ip: string;
  port: number;
}

export function heartbeatBody(f: HeartbeatFields): string {
  return JSON.stringify({
    reset: f.reset,
    version: f.version,
    time: f.time,
    uptime: f.uptime,
    memtotal: f.memtotal,
    memcached: f.memcached,
    membuffers: f.membuffers,
    memfree: f.memfree,
    syslog: f.syslog,
    ip: f.ip,
    port: f.port,
  });
}
