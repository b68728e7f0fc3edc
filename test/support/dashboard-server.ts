import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveApi, servePageFile } from '../../core/dashboard/http';
import type { Viewer } from '../../core/dashboard/fleet';

export interface DashboardServerOptions {
  /** the dashboards by id, as flm-dashboard's registry keeps them */
  dashboards: Parameters<typeof serveApi>[3];
  /** where the page and its `api/` live, as flm-dashboard mounts them (`/flm/dashboard/`); `/` when left out */
  base?: string;
  /**
   * Who asks, as flm-dashboard's gate works it out from the request; undefined answers 401.
   * Left out, every request is the editor's (what the routes take when no viewer is given).
   */
  viewerOf?: (req: IncomingMessage) => Viewer | undefined;
  /** the server's clock, seconds */
  now?: () => number;
}

export interface DashboardServer {
  /** `http://127.0.0.1:<port><base>` */
  url: string;
  /** drops open connections (an event stream stays open) and stops listening */
  close(): Promise<void>;
}

/**
 * The dashboard page's routes (core/dashboard/http.ts) on a plain HTTP server on 127.0.0.1, port 0:
 * the page's files and its API under `base`, 404 outside it, 500 with the error's text when a
 * route throws. The login in front of them in Node-RED is tested with the nodes.
 */
export async function serveDashboard(o: DashboardServerOptions): Promise<DashboardServer> {
  const base = o.base ?? '/';
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (!path.startsWith(base)) return void res.writeHead(404).end();
    const rest = path.slice(base.length);
    let done: Promise<void>;
    if (rest.startsWith('api/')) {
      const viewer = o.viewerOf ? o.viewerOf(req) : { admin: true as const };
      if (!viewer) return void res.writeHead(401).end();
      done = serveApi(rest.slice(4), req, res, o.dashboards, o.now, viewer);
    } else done = servePageFile(rest, res).then((ok) => void (ok || res.writeHead(404).end()));
    done.catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${base}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
