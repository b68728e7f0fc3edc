/**
 * A Flukso-compatible API server for tests and benchmarks, on 127.0.0.1 only.
 *
 * - `POST /sensor/<sid>` (docs/protocols/upload.md#measurements): checks X-Version and the X-Digest
 *   of the exact body with the key of the sensor's device, stores measurements per (sid, ts) and
 *   counts duplicates.
 * - `POST /device/<did>` (docs/protocols/upload.md#heartbeat): checks the digest, keeps the body,
 *   answers `{"upgrade":N,"timestamp":T}` with a correct, wrong or missing reply digest.
 * - Faults on demand: random statuses (seeded), requests never answered, connection resets,
 *   slow replies, 401 for a key, and fully down (listener closed, or 503 for everything).
 * - `startBridge`: the MQTT side (the FLM's bridge, TMPO blocks and sync) over TLS, on its own
 *   port, sharing this server's devices (see flukso-bridge-broker.ts).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHmac } from 'node:crypto';
import { prng } from '../../core/util/prng';
import { FluksoBridgeBroker, type BridgeBrokerOptions } from './flukso-bridge-broker';

export interface TestDevice {
  id: string;
  key: string;
  sensors: string[];
}

export interface Faults {
  /** share of requests (0..1) answered with `failStatus` */
  failRate?: number;
  failStatus?: number;
  /** share of requests never answered: the client has to time out */
  hangRate?: number;
  /** share of requests whose connection is reset */
  resetRate?: number;
  /** every reply waits this long */
  delayMs?: number;
  /** failures and resets come after the readings were stored: the data arrived, the ack is lost */
  afterStore?: boolean;
}

export interface HeartbeatReply {
  upgrade: number;
  /** `wrong`: a digest of other bytes; `missing`: no X-Digest header */
  digest: 'good' | 'wrong' | 'missing';
}

export interface ServerOptions {
  devices?: TestDevice[];
  /** seed of the fault dice */
  seed?: number;
  /** what a stored POST gets: the FLM counts only 200, the server may say 204 */
  successStatus?: 200 | 204;
  /**
   * false: keep only counts and the newest ts per sensor (duplicates are then readings not
   * after the newest), so a benchmark can send millions without the server holding them
   */
  keepReadings?: boolean;
  heartbeat?: Partial<HeartbeatReply>;
}

export interface RequestRecord {
  method: string;
  path: string;
  /** 0 when never answered or reset */
  status: number;
  fault?: 'fail' | 'hang' | 'reset' | 'down';
}

interface SensorStore {
  values: Map<number, number> | undefined;
  count: number;
  newest: number;
  duplicates: number;
}

const MAX_BODY = 64 * 1024 * 1024;
const LOG_LIMIT = 10_000;

export class FluksoTestServer {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly devices = new Map<string, TestDevice>();
  private readonly sensorDevice = new Map<string, string>();
  private readonly denied = new Set<string>();
  private readonly store = new Map<string, SensorStore>();
  private faults: Faults = {};
  private dice: () => number;
  private mode: 'up' | 'refuse' | '503' = 'up';
  private heartbeatReply: HeartbeatReply;
  private readonly keepReadings: boolean;
  private readonly successStatus: 200 | 204;
  port = 0;
  /** the MQTT side, once started */
  bridge?: FluksoBridgeBroker;
  /** the newest requests, oldest first (at most 10 000) */
  readonly log: RequestRecord[] = [];
  readonly heartbeats: Array<{ deviceId: string; body: Record<string, unknown> }> = [];
  readonly stats = { requests: 0, stored: 0, duplicates: 0, fractional: 0, byStatus: {} as Record<number, number> };

  private constructor(opts: ServerOptions) {
    for (const d of opts.devices ?? []) this.addDevice(d);
    this.dice = prng(opts.seed ?? 1);
    this.keepReadings = opts.keepReadings ?? true;
    this.successStatus = opts.successStatus ?? 200;
    this.heartbeatReply = { upgrade: 0, digest: 'good', ...opts.heartbeat };
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: ServerOptions = {}): Promise<FluksoTestServer> {
    const s = new FluksoTestServer(opts);
    await s.listen(0);
    return s;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** The base URL, for UploadClient's `baseUrl`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  addDevice(d: TestDevice): void {
    this.devices.set(d.id, { ...d, sensors: [...d.sensors] });
    for (const sid of d.sensors) this.sensorDevice.set(sid, d.id);
  }

  /** The key the server holds for a device (a client with another key gets 401). */
  setKey(deviceId: string, key: string): void {
    const d = this.devices.get(deviceId);
    if (!d) throw new Error(`no device ${deviceId}`);
    d.key = key;
  }

  /** Requests signed with this key get 401 even when the digest is right. */
  denyKey(key: string, denied = true): void {
    if (denied) this.denied.add(key);
    else this.denied.delete(key);
  }

  /** Replace the faults; `seed` restarts the dice. */
  setFaults(f: Faults, seed?: number): void {
    this.faults = { ...f };
    if (seed !== undefined) this.dice = prng(seed);
  }

  setHeartbeatReply(r: Partial<HeartbeatReply>): void {
    this.heartbeatReply = { ...this.heartbeatReply, ...r };
  }

  /**
   * Fully down. `refuse`: the listener is closed and every open connection dropped, so
   * connecting fails; `503`: everything is answered 503.
   */
  async down(mode: 'refuse' | '503' = 'refuse'): Promise<void> {
    if (this.mode === 'refuse') return;
    this.mode = mode;
    if (mode === 'refuse') {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    }
  }

  /** Back up, on the same port. */
  async up(): Promise<void> {
    const was = this.mode;
    this.mode = 'up';
    if (was === 'refuse') await this.listen(this.port);
  }

  /** Stored readings of a sensor, ascending by time (empty when `keepReadings` is off). */
  readings(sid: string): Array<[number, number]> {
    const values = this.store.get(sid)?.values;
    if (!values) return [];
    return [...values.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Distinct timestamps stored for a sensor. */
  count(sid: string): number {
    return this.store.get(sid)?.count ?? 0;
  }

  /** Readings that came again for a (sid, ts) already stored. */
  duplicates(sid?: string): number {
    return sid === undefined ? this.stats.duplicates : (this.store.get(sid)?.duplicates ?? 0);
  }

  sids(): string[] {
    return [...this.store.keys()];
  }

  /** The MQTT bridge endpoint on a port of its own (0: any free one), knowing this server's devices. */
  async startBridge(opts: Omit<BridgeBrokerOptions, 'devices'>, port = 0): Promise<FluksoBridgeBroker> {
    if (this.bridge) throw new Error('the bridge endpoint is already running');
    this.bridge = await FluksoBridgeBroker.start({ ...opts, devices: (id) => this.devices.get(id) }, port);
    return this.bridge;
  }

  async close(): Promise<void> {
    await this.bridge?.close();
    const closed =
      this.mode === 'refuse' ? Promise.resolve() : new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.mode = 'refuse';
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private record(r: RequestRecord): void {
    this.log.push(r);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    if (r.status) this.stats.byStatus[r.status] = (this.stats.byStatus[r.status] ?? 0) + 1;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.stats.requests++;
    const path = (req.url ?? '/').split('?')[0]!;
    const base = { method: req.method ?? '', path };
    if (this.mode !== 'up') {
      this.record({ ...base, status: 503, fault: 'down' });
      return void send(res, 503, '{"error":"down"}');
    }
    const f = this.faults;
    const roll = this.dice();
    const hang = roll < (f.hangRate ?? 0);
    const reset = !hang && roll < (f.hangRate ?? 0) + (f.resetRate ?? 0);
    const fail = !hang && !reset && roll < (f.hangRate ?? 0) + (f.resetRate ?? 0) + (f.failRate ?? 0);
    if (hang) {
      this.record({ ...base, status: 0, fault: 'hang' });
      req.resume();
      return;
    }
    if (!f.afterStore && (reset || fail)) {
      return void this.later(() => this.fault(req, res, base, reset));
    }
    readBody(req)
      .then((body) => {
        const answer = this.route(req, path, body);
        this.later(() => {
          if (f.afterStore && (reset || fail)) return this.fault(req, res, base, reset);
          this.record({ ...base, status: answer.status });
          send(res, answer.status, answer.body, answer.headers);
        });
      })
      .catch(() => {
        this.record({ ...base, status: 413 });
        send(res, 413, '{"error":"body too large"}');
      });
  }

  private fault(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    base: { method: string; path: string },
    reset: boolean,
  ): void {
    if (reset) {
      this.record({ ...base, status: 0, fault: 'reset' });
      req.socket.resetAndDestroy();
      return;
    }
    const status = this.faults.failStatus ?? 500;
    this.record({ ...base, status, fault: 'fail' });
    req.resume();
    send(res, status, '{"error":"injected"}');
  }

  private later(fn: () => void): void {
    const ms = this.faults.delayMs ?? 0;
    if (ms > 0) setTimeout(fn, ms);
    else fn();
  }

  private route(
    req: http.IncomingMessage,
    path: string,
    body: Buffer,
  ): { status: number; body: string; headers?: Record<string, string> } {
    const m = /^\/(sensor|device)\/([^/]+)$/.exec(path);
    if (!m) return { status: 404, body: '{"error":"no such resource"}' };
    if (req.method !== 'POST') return { status: 405, body: '{"error":"POST only"}' };
    if (req.headers['x-version'] !== '1.0') return { status: 400, body: '{"error":"X-Version must be 1.0"}' };
    const digest = req.headers['x-digest'];
    if (typeof digest !== 'string' || !/^[0-9a-f]{40}$/.test(digest))
      return { status: 400, body: '{"error":"X-Digest must be 40 hex digits"}' };
    const id = decodeURIComponent(m[2]!);
    const device = this.devices.get(m[1] === 'sensor' ? (this.sensorDevice.get(id) ?? '') : id);
    if (!device) return { status: 404, body: `{"error":"unknown ${m[1]}"}` };
    if (hmac(device.key, body) !== digest)
      return { status: 401, body: '{"error":"digest mismatch"}', headers: { 'WWW-Authenticate': 'X-Digest' } };
    if (this.denied.has(device.key))
      return { status: 401, body: '{"error":"key refused"}', headers: { 'WWW-Authenticate': 'X-Digest' } };
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return { status: 400, body: '{"error":"body is not JSON"}' };
    }
    return m[1] === 'sensor' ? this.measurements(id, json) : this.heartbeat(device, json);
  }

  private measurements(sid: string, json: unknown): { status: number; body: string } {
    const o = json as { measurements?: unknown; config?: unknown };
    if (typeof o !== 'object' || o === null) return { status: 400, body: '{"error":"not an object"}' };
    if (o.measurements !== undefined && o.config !== undefined)
      return { status: 400, body: '{"error":"measurements and config together"}' };
    if (!Array.isArray(o.measurements)) return { status: 400, body: '{"error":"no measurements"}' };
    for (const p of o.measurements) {
      if (!Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || typeof p[1] !== 'number')
        return { status: 400, body: '{"error":"a measurement is not [ts,counter]"}' };
    }
    let s = this.store.get(sid);
    if (!s) {
      s = { values: this.keepReadings ? new Map() : undefined, count: 0, newest: -Infinity, duplicates: 0 };
      this.store.set(sid, s);
    }
    for (const [ts, counter] of o.measurements as Array<[number, number]>) {
      if (!Number.isInteger(counter)) {
        this.stats.fractional++;
        continue;
      }
      const seen = s.values ? s.values.has(ts) : ts <= s.newest;
      if (seen) {
        s.duplicates++;
        this.stats.duplicates++;
        continue;
      }
      s.values?.set(ts, counter);
      s.count++;
      this.stats.stored++;
      if (ts > s.newest) s.newest = ts;
    }
    return this.successStatus === 204 ? { status: 204, body: '' } : { status: 200, body: '{"response":"ok"}' };
  }

  private heartbeat(
    device: TestDevice,
    json: unknown,
  ): { status: number; body: string; headers: Record<string, string> } {
    this.heartbeats.push({ deviceId: device.id, body: json as Record<string, unknown> });
    const r = this.heartbeatReply;
    const body = JSON.stringify({ upgrade: r.upgrade, timestamp: Math.floor(Date.now() / 1000) });
    const headers: Record<string, string> = {};
    if (r.digest === 'good') headers['X-Digest'] = hmac(device.key, Buffer.from(body));
    if (r.digest === 'wrong') headers['X-Digest'] = hmac(device.key, Buffer.from(body + ' '));
    return { status: 200, body, headers };
  }
}

function hmac(key: string, body: Buffer): string {
  return createHmac('sha1', Buffer.from(key, 'ascii')).update(body).digest('hex');
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    ...(status === 204
      ? {}
      : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }),
    ...headers,
  });
  res.end(status === 204 ? undefined : body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        req.destroy();
        reject(new Error('too large'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
