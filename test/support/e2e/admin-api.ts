/** Small clients for the Node-RED admin HTTP API (https://nodered.org/docs/api/admin/). */

export interface HttpResult {
  status: number;
  contentType: string;
  text: string;
}

/**
 * The one way tests log in to a locked editor (adminAuth, as `npm start` sets it): Node-RED's
 * token exchange, what the editor's login dialog does. Returns the Bearer token for `token`.
 */
export async function login(baseUrl: string, username: string, password: string, timeoutMs = 10_000): Promise<string> {
  const res = await fetch(`${baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username, password }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /auth/token as ${username}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

const bearer = (token?: string): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

export async function httpGet(
  url: string,
  accept = 'application/json',
  opts: { token?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const res = await fetch(url, {
    headers: { Accept: accept, ...bearer(opts.token) },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

export async function getJson<T>(url: string, opts: { token?: string; timeoutMs?: number } = {}): Promise<T> {
  const r = await httpGet(url, 'application/json', opts);
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  return JSON.parse(r.text) as T;
}

/** A full deploy, as the editor's Deploy button does it; returns the new revision. */
export async function deployFlows(
  baseUrl: string,
  flows: unknown[],
  opts: { token?: string; timeoutMs?: number } = {},
): Promise<string> {
  const res = await fetch(`${baseUrl}/flows`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'Node-RED-API-Version': 'v2',
      'Node-RED-Deployment-Type': 'full',
      ...bearer(opts.token),
    },
    body: JSON.stringify({ flows }),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /flows: HTTP ${res.status} ${text.slice(0, 1000)}`);
  return (JSON.parse(text) as { rev: string }).rev;
}

/** One entry of `GET /nodes` (Accept: application/json). */
export interface NodeSetInfo {
  id: string;
  name: string;
  module: string;
  version?: string;
  types: string[];
  enabled: boolean;
  loaded?: boolean;
  err?: string;
}
