import { hostname, networkInterfaces } from 'node:os';

/**
 * Which web pages may open an MQTT websocket. A browser sends the page's Origin with every
 * websocket; without a check any site the user visits could read the readings or, with a
 * login saved in the page, publish. Clients that are not browsers send no Origin and pass.
 *
 * `allowed` entries: `*` (any page), a full origin (`https://ha.example:8123`) or a host name
 * (any scheme and port). None: the names of the host the listener is bound to.
 */
export function originCheck(allowed: readonly string[], listenHost: string): (origin: string | undefined) => boolean {
  if (allowed.includes('*')) return () => true;
  const origins = new Set(allowed.filter((a) => a.includes('://')).map((a) => a.toLowerCase().replace(/\/+$/, '')));
  const names = new Set(allowed.filter((a) => !a.includes('://')).map(bare));
  if (allowed.length === 0) for (const n of listenerNames(listenHost)) names.add(n);
  return (origin) => {
    if (origin === undefined) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    return origins.has(url.origin.toLowerCase()) || names.has(bare(url.hostname));
  };
}

/** The names a page served from the listener's host would carry in its Origin. */
export function listenerNames(host: string): string[] {
  const loopback = ['localhost', '127.0.0.1', '::1'];
  const h = bare(host);
  if (h === 'localhost' || h.startsWith('127.') || h === '::1') return [...loopback, h];
  const own = [hostname().toLowerCase(), `${hostname().toLowerCase()}.local`];
  if (h !== '0.0.0.0' && h !== '::' && h !== '') return [h, ...own];
  const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => bare(i.address)));
  return [...loopback, ...own, ...addresses];
}

function bare(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
}
