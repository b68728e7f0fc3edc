/** Small clients for the Node-RED admin HTTP API (https://nodered.org/docs/api/admin/). */

export interface HttpResult {
  status: number;
  contentType: string;
  text: string;
}

export async function httpGet(url: string, accept = 'application/json', timeoutMs = 10_000): Promise<HttpResult> {
  const res = await fetch(url, { headers: { Accept: accept }, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

export async function getJson<T>(url: string, timeoutMs = 10_000): Promise<T> {
  const r = await httpGet(url, 'application/json', timeoutMs);
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  return JSON.parse(r.text) as T;
}

/** A full deploy, as the editor's Deploy button does it; returns the new revision. */
export async function deployFlows(baseUrl: string, flows: unknown[], timeoutMs = 30_000): Promise<string> {
  const res = await fetch(`${baseUrl}/flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify({ flows }),
    signal: AbortSignal.timeout(timeoutMs),
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
