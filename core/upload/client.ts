import http from 'node:http';
import https from 'node:https';
import { xDigest } from './digest';
import type { Reading } from './reading';

export interface UploadClientOptions {
  /** the server's base, the FLM's `wan_base_url`: `https://api.flukso.net/` (a path prefix is kept) */
  baseUrl: string;
  /** the 32-hex device key; its ASCII is the HMAC key */
  deviceKey: string;
  userAgent?: string;
  /** whole request, connect to last byte, ms */
  timeoutMs?: number;
  /** CA certificate(s) for an https base, PEM; the system store when absent */
  ca?: string | Buffer;
  /** sockets kept open to the server */
  maxSockets?: number;
}

const DEFAULT_USER_AGENT = 'Fluksometer node-red-contrib-fluksometer';
const DEFAULT_TIMEOUT_MS = 15_000;
const EXCERPT_CHARS = 200;
const BODY_KEEP_BYTES = 64 * 1024;

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** the first 64 KiB of the body; enough for every reply the API gives */
  body: Buffer;
}

export type PostOutcome =
  | { kind: 'ok'; url: string; status: number }
  /** the data stays queued and is tried again: network failure, timeout, or any other status */
  | { kind: 'retry'; url: string; status?: number; error: string; excerpt?: string }
  /** 401/403: the key (or this sensor's ownership) is refused; trying again changes nothing */
  | { kind: 'auth-failed'; url: string; status: 401 | 403; excerpt: string };

/**
 * Signed POSTs to a Flukso server over keep-alive connections, like fluksod's persistent
 * httpclient (docs/protocols/upload.md#answers). HTTP errors come back as values, never as
 * exceptions: the caller decides what a failure means for its data.
 */
export class UploadClient {
  private key: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(opts: UploadClientOptions) {
    this.base = new URL(opts.baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new Error(`upload server URL must be http(s): ${opts.baseUrl}`);
    if (!this.base.pathname.endsWith('/')) this.base.pathname += '/';
    this.key = opts.deviceKey;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 4 };
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ ...agentOpts, ...(opts.ca ? { ca: opts.ca } : {}) })
        : new http.Agent(agentOpts);
  }

  /** A new device key; requests already under way keep the one they were signed with. */
  setKey(key: string): void {
    this.key = key;
  }

  get deviceKey(): string {
    return this.key;
  }

  url(path: string): string {
    return new URL(path.replace(/^\/+/, ''), this.base).toString();
  }

  /**
   * `POST <base>sensor/<sid>` with the readings (ascending, whole counters) as fluksod sends them
   * (docs/protocols/upload.md#measurements).
   */
  async postMeasurements(sid: string, readings: readonly Reading[], signal?: AbortSignal): Promise<PostOutcome> {
    const path = `sensor/${encodeURIComponent(sid)}`;
    const url = this.url(path);
    const r = await this.post(path, measurementsBody(readings), signal);
    if (!('status' in r)) return { kind: 'retry', url, error: r.error };
    const excerpt = bodyExcerpt(r.body);
    if (r.status === 200 || r.status === 204) return { kind: 'ok', url, status: r.status };
    if (r.status === 401 || r.status === 403) return { kind: 'auth-failed', url, status: r.status, excerpt };
    return { kind: 'retry', url, status: r.status, error: `HTTP ${r.status}`, excerpt };
  }

  /** A signed POST of `body` to `<base><path>`; the reply, or what went wrong on the way. */
  async post(
    path: string,
    body: string,
    signal?: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<RawReply | { error: string }> {
    const bytes = Buffer.from(body, 'utf8');
    const headers = {
      'Content-Type': 'application/json',
      'X-Version': '1.0',
      'User-Agent': this.userAgent,
      'Content-Length': String(bytes.length),
      'X-Digest': xDigest(this.key, bytes),
      ...extraHeaders,
    };
    const url = new URL(path.replace(/^\/+/, ''), this.base);
    return this.once(url, headers, bytes, signal);
  }

  // No quiet second try on a reset: a reset may come after the server stored the readings, and
  // the uploader's backoff retries soon enough.
  //
  // The caller's signal (the uploader's, alive as long as it runs) is followed with a listener
  // removed when the request ends, not with AbortSignal.any: Node keeps a reference in the
  // long-lived signal for every signal any() derives from it, one per POST, for good
  // (nodejs/node#55351, #64476), and any() costs more than the rest of the request set-up.
  private once(
    url: URL,
    headers: Record<string, string>,
    bytes: Buffer,
    outer?: AbortSignal,
  ): Promise<RawReply | { error: string }> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      if (outer?.aborted) return resolve({ error: 'aborted' });
      const ac = new AbortController();
      let cut: 'timed out' | 'aborted' | undefined;
      const stop = (why: 'timed out' | 'aborted') => {
        cut ??= why;
        ac.abort();
      };
      const onOuterAbort = () => stop('aborted');
      const timer = setTimeout(() => stop('timed out'), this.timeoutMs).unref();
      outer?.addEventListener('abort', onOuterAbort, { once: true });
      let settled = false;
      const done = (v: RawReply | { error: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outer?.removeEventListener('abort', onOuterAbort);
        resolve(cut && !('status' in v) ? { error: cut } : v);
      };
      const req = mod.request(url, { method: 'POST', headers, agent: this.agent, signal: ac.signal }, (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < BODY_KEEP_BYTES) {
            chunks.push(c);
            kept += c.length;
          }
        });
        res.on('end', () =>
          done({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).subarray(0, BODY_KEEP_BYTES),
          }),
        );
        res.on('error', (err) => done({ error: describeError(err) }));
        res.on('aborted', () => done({ error: 'connection closed during the reply' }));
      });
      req.on('error', (err: NodeJS.ErrnoException) => done({ error: describeError(err) }));
      req.end(bytes);
    });
  }

  /** Close the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

/** The exact body fluksod sends: compact JSON, one `[ts,counter]` pair per reading. */
export function measurementsBody(readings: readonly Reading[]): string {
  let s = '{"measurements":[';
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i]!;
    s += (i ? ',[' : '[') + String(r[0]) + ',' + String(r[1]) + ']';
  }
  return s + ']}';
}

/** A short, one-line piece of a reply body for a status line or a log. */
export function bodyExcerpt(body: Buffer): string {
  const text = body
    .subarray(0, EXCERPT_CHARS * 4)
    .toString('utf8')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > EXCERPT_CHARS ? text.slice(0, EXCERPT_CHARS) + '…' : text;
}

function describeError(err: NodeJS.ErrnoException): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}
