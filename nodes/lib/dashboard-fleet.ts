import type { RequestHandler } from 'express';
import type { Node } from 'node-red';
import type { FleetSource, FleetView, Viewer } from '../../core/dashboard/fleet';
import { FleetStream } from '../../core/dashboard/fleet-stream';
import type { FluksoServer } from '../../core/server/service';
import { sensorAccess, visibleSensors } from '../../core/server/visible-sensors';
import { onCloseBounded } from './close';
import { Status } from './status';
import { textSetting } from './settings';

/** What an flm-server node offers a dashboard naming it: its running server. */
interface FleetProvider {
  fluksoServer(): Promise<FluksoServer>;
}

const isProvider = (n: unknown): n is FleetProvider =>
  typeof (n as Partial<FleetProvider> | null)?.fluksoServer === 'function';

const KEEP_ALIVE_MS = 15_000;

const tokenOf = (viewer: Viewer): string | undefined => ('admin' in viewer ? undefined : viewer.token);

/** The server's registry and store in the shape core/dashboard asks for (it does not know the server). */
function fleetSource(server: FluksoServer): FleetSource {
  return {
    sensors: (viewer: Viewer) => visibleSensors(server.registry, tokenOf(viewer)),
    access: (viewer: Viewer, sid: string) => sensorAccess(server.registry, tokenOf(viewer), sid),
    reader: server.store,
    // the newest reading of each upload or block, as the MQTT bridge publishes it live
    ...(server.bridgeBackend.live ? { live: server.bridgeBackend.live } : {}),
  };
}

/**
 * flm-dashboard naming an flm-server (`server` setting) instead of a device: the server's sensors
 * of every device, their history and the newest reading of each upload
 * (docs/protocols/server.md#dashboard). Waits up to `boundMs` for the
 * server node (a node listed later in the flow is created later), then puts the view into
 * `views` until the node closes.
 */
export function runFleetDashboard(
  node: Node,
  def: { name?: string; server?: unknown },
  find: (id: string) => unknown,
  views: Map<string, unknown>,
  boundMs = 5000,
): void {
  const status = new Status(node);
  const serverId = textSetting(def.server);
  let closed = false;
  let view: FleetView | undefined;
  let stream: FleetStream | undefined;
  let keepAlive: NodeJS.Timeout | undefined;
  node.on('input', (_msg: unknown, _send: unknown, done: () => void) => done());
  const starting = (async () => {
    status.idle('waiting for the server');
    const until = Date.now() + boundMs;
    let n = find(serverId);
    while (!isProvider(n)) {
      if (Date.now() >= until) throw new Error(`no flm-server node ${serverId}: choose the Flukso server node`);
      await new Promise((r) => setTimeout(r, 50));
      n = find(serverId);
    }
    const server = await n.fluksoServer();
    if (closed) return;
    const fleet = fleetSource(server);
    stream = new FleetStream(fleet);
    keepAlive = setInterval(() => stream?.keepAlive(), KEEP_ALIVE_MS);
    view = { id: node.id, name: def.name || 'Flukso server', fleet, stream };
    views.set(node.id, view);
    status.ok('server dashboard: every device, live with each upload');
  })().catch((err: unknown) => status.failed(err));
  onCloseBounded(node, async () => {
    closed = true;
    await starting;
    // Only our own entry: a redeployed node of the same id may have registered already.
    if (view && views.get(node.id) === view) views.delete(node.id);
    clearInterval(keepAlive);
    stream?.close();
  });
}

/**
 * The data routes' check: a request with an `X-Token` header is a Flukso user's (its master token,
 * checked per dashboard and sensor by core/dashboard/http.ts, which lets it read server dashboards
 * only); any other needs the editor's login (`login`, Node-RED's needsPermission) and sees all.
 */
export function tokenOrLogin(login: RequestHandler) {
  const viewers = new WeakMap<object, Viewer>();
  const check: RequestHandler = (req, res, next) => {
    const token = req.headers['x-token'];
    if (typeof token !== 'string' || !token) return void login(req, res, next);
    viewers.set(req, { token });
    next();
  };
  return { check, viewer: (req: object): Viewer => viewers.get(req) ?? { admin: true } };
}
