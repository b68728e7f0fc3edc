import http from 'node:http';
import https from 'node:https';

export interface OpenHabClientOptions {
  /** openHAB's base URL: http://openhab:8080 (a trailing /rest is taken off) */
  baseUrl: string;
  /** API token (openHAB ≥ 3: oh.<name>.<random>), sent as a Bearer token; none for anonymous access */
  token?: string;
  /** whole request, ms */
  timeoutMs?: number;
  /** CA certificate(s) for an https URL, PEM */
  ca?: string | Buffer;
}

/**
 * What one state update came to. Only network trouble and server errors are worth trying
 * again; openHAB refusing the token, the item or the state will refuse it again.
 */
export type PutOutcome =
  | { kind: 'ok'; status: number }
  | { kind: 'auth-failed'; status: number }
  | { kind: 'not-found'; status: 404 }
  | { kind: 'refused'; status: number; excerpt: string }
  | { kind: 'retry'; status?: number; error: string };

const DEFAULT_TIMEOUT_MS = 10_000;

/** `PUT /rest/items/<item>/state`, text/plain (openHAB REST: a state update, not a command). */
export class OpenHabClient {
  readonly base: URL;
  private readonly agent: http.Agent;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(opts: OpenHabClientOptions) {
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch {
      throw new Error(`openHAB URL "${opts.baseUrl}" is not a URL (expected http://host:8080)`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new Error(`openHAB URL must be http(s): ${opts.baseUrl}`);
    base.pathname = base.pathname.replace(/\/+$/, '').replace(/\/rest$/, '') + '/';
    this.base = base;
    this.token = opts.token ?? '';
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const agentOpts = { keepAlive: true, maxSockets: 4 };
    this.agent =
      base.protocol === 'https:'
        ? new https.Agent({ ...agentOpts, ...(opts.ca ? { ca: opts.ca } : {}) })
        : new http.Agent(agentOpts);
  }

  stateUrl(item: string): URL {
    return new URL(`rest/items/${encodeURIComponent(item)}/state`, this.base);
  }

  putState(item: string, state: string, signal?: AbortSignal): Promise<PutOutcome> {
    const url = this.stateUrl(item);
    const body = Buffer.from(state, 'utf8');
    const headers: Record<string, string> = {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': String(body.length),
      Accept: 'application/json',
    };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const all = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      let settled = false;
      const done = (o: PutOutcome) => {
        if (!settled) {
          settled = true;
          resolve(o);
        }
      };
      if (all.aborted) return done({ kind: 'retry', error: abortText(all) });
      const req = mod.request(url, { method: 'PUT', headers, agent: this.agent, signal: all }, (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < 4096) chunks.push(c);
          kept += c.length;
        });
        res.on('error', (err) => done({ kind: 'retry', error: err.message }));
        res.on('end', () => done(classify(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      req.on('error', (err) => done({ kind: 'retry', error: all.aborted ? abortText(all) : err.message }));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function classify(status: number, body: string): PutOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok', status };
  if (status === 401 || status === 403) return { kind: 'auth-failed', status };
  if (status === 404) return { kind: 'not-found', status: 404 };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', status, error: `HTTP ${status}` };
  return { kind: 'refused', status, excerpt: body.replace(/\s+/g, ' ').trim().slice(0, 200) };
}

function abortText(signal: AbortSignal): string {
  const r = signal.reason as { name?: string } | undefined;
  return r?.name === 'TimeoutError' ? 'timed out' : 'aborted';
}
