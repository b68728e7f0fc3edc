import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TmpoDirReader } from '../core/api/store-reader';
import { CachedBlockReader } from '../core/dashboard/cached-reader';
import { serveApi, servePageFile, type DashboardView } from '../core/dashboard/http';
import { DashboardHub } from '../core/dashboard/hub';
import type { FleetView } from '../core/dashboard/fleet';
import { runFleetDashboard, tokenOrLogin } from './lib/dashboard-fleet';
import { textSetting } from './lib/settings';
import { deviceNodeParts } from './lib/device-node-parts';
import { onCloseBounded } from './lib/close';
import type { Send, Done } from './lib/startup-queue';

type DashboardDef = NodeDef & { device: string; server?: string };

/** Where the page lives on the editor's server (under httpAdminRoot). */
const BASE = '/flm/dashboard';
const KEEP_ALIVE_MS = 15_000;

// The deployed dashboards, for the routes; module-wide so that routes mounted again (a test
// helper loads the module per flow) all see the same ones.
const dashboards = new Map<string, DashboardView | FleetView>();
const registry = { list: () => [...dashboards.values()], get: (id: string) => dashboards.get(id) };

export default function (RED: NodeAPI): void {
  function FlmDashboard(this: Node, def: DashboardDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    // On a Flukso server: every device's history instead of one device (nodes/lib/dashboard-fleet.ts).
    if (textSetting(def.server)) return runFleetDashboard(node, def, (id) => RED.nodes.getNode(id), dashboards);
    const { status, res, rejects, deviceNode, gate } = deviceNodeParts(RED, node, def.device, 'the dashboard');
    const hub = new DashboardHub();
    let cached: CachedBlockReader | undefined;
    let view: DashboardView | undefined;
    const failed = (err: unknown) => status.failed(err);

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => gate.input(msg, send, done));

    const starting = (async () => {
      if (!deviceNode) throw new Error('no flm-device configured: pick or add one in the node settings');
      const { device, dataDir, sensors } = await deviceNode.ready;
      if (res.isDisposed) return;
      const describe = () => hub.setSensors(sensors.all().filter((s) => sensors.isLive(s)));
      describe();
      res.on(sensors, 'change', describe);
      view = {
        id: node.id,
        name: def.name || 'dashboard',
        deviceId: device.id,
        deviceName: deviceNode.name || device.id,
        state: hub.state,
        stream: hub.stream,
        // One reader for the node's life, so decoded blocks are kept between requests; none until the store exists.
        reader: async () =>
          (cached ??= await TmpoDirReader.open(dataDir).then(
            (dir) => new CachedBlockReader(dir),
            () => undefined,
          )),
      };
      dashboards.set(node.id, view);
      gate.ready((msg, _send, done) => {
        try {
          hub.take(String(msg.topic ?? ''), msg.payload, (msg as { flm?: unknown }).flm);
          done();
        } catch (err) {
          rejects.fail(done, err);
        }
      });
      res.interval(KEEP_ALIVE_MS, () => hub.stream.keepAlive(), failed);
      // Status shows a line only when it changed.
      res.interval(1000, () => status.show(hub.statusView()), failed);
    })().catch((err: unknown) => {
      gate.fail(err instanceof Error ? err : new Error(String(err)));
      failed(err);
    });

    onCloseBounded(node, async () => {
      res.dispose();
      await starting;
      // Only our own entry: a redeployed node of the same id may have registered already.
      if (view && dashboards.get(node.id) === view) dashboards.delete(node.id);
      hub.close();
    });
  }

  RED.nodes.registerType('flm-dashboard', FlmDashboard as never);

  const fail = (res: ServerResponse, err: unknown) => {
    RED.log.warn(`flm-dashboard: ${err instanceof Error ? err.message : String(err)}`);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('dashboard error\n');
    else res.end();
  };
  // The data: with the editor's login (401 without a valid token when adminAuth is set), or with a
  // Flukso user's master token in X-Token, which core/dashboard/http.ts lets read server dashboards only.
  const gate = tokenOrLogin(RED.auth.needsPermission('flm-dashboard.read'));
  RED.httpAdmin.get(`${BASE}/api/*`, gate.check, (req, res) => {
    const path = String((req.params as unknown as Record<string, string>)[0] ?? '');
    serveApi(path, req as IncomingMessage, res as ServerResponse, registry, undefined, gate.viewer(req)).catch(
      (err: unknown) => fail(res as ServerResponse, err),
    );
  });
  // The page, its script, style and uPlot: no data in them, so no login (the page logs in itself).
  RED.httpAdmin.get([BASE, `${BASE}/:file`], (req, res, next) => {
    const file = String((req.params as Record<string, string>).file ?? '');
    if (req.path === BASE) return void res.redirect(`${req.baseUrl}${BASE}/`);
    servePageFile(file, res as ServerResponse).then(
      (served) => served || next(),
      (err: unknown) => fail(res as ServerResponse, err),
    );
  });
}
