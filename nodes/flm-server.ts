import type { Node, NodeAPI, NodeDef } from 'node-red';
import { join } from 'node:path';
import { runServer, type RunningServer } from '../core/server/run';
import type { BridgeBackend } from '../core/server/bridge/backend';
import type { FluksoServer } from '../core/server/service';
import { Status, statusTranslator } from './lib/status';
import { onCloseBounded } from './lib/close';
import { parseSettings } from './lib/settings';
import { serverSettings } from './lib/server-settings';

/**
 * A Flukso-compatible server: the store, HTTP ingestion and the read APIs. An flm-server-bridge
 * node naming this one takes the FLMs' MQTT bridge and stores through `bridgeBackend()`.
 */
export default function (RED: NodeAPI): void {
  function FlmServer(
    this: Node & { bridgeBackend?: () => Promise<BridgeBackend>; fluksoServer?: () => Promise<FluksoServer> },
    def: NodeDef,
  ) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-server'));
    let running: RunningServer | undefined;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;

    const starting = (async () => {
      const s = parseSettings(serverSettings, def);
      status.idle(status.say('starting', 'starting'));
      const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
      const r = await runServer({
        dataDir: s.dataDir || join(userDir, 'flukso'),
        host: s.host,
        port: s.apiPort,
        ...(s.tlsCert ? { tlsCertFile: s.tlsCert } : {}),
        ...(s.tlsKey ? { tlsKeyFile: s.tlsKey } : {}),
        maxConnections: s.maxConnections,
        ...(s.dbUrl ? { dbUrl: s.dbUrl } : {}),
        onError: (err) => node.error(err instanceof Error ? err.message : String(err)),
      });
      if (closed) return void (await r.close());
      running = r;
      node.log(`Flukso API on ${r.server.url}`);
      const show = () => status.show(r.status());
      show();
      timer = setInterval(show, 5000);
      return r;
    })().catch((err: unknown) => {
      status.failed(err);
      throw err;
    });
    starting.catch(() => undefined);
    node.bridgeBackend = async () => {
      const r = await starting;
      if (!r) throw new Error('the Flukso server node stopped');
      return r.server.bridgeBackend;
    };
    // For an flm-dashboard naming this node (nodes/lib/dashboard-fleet.ts).
    node.fluksoServer = async () => {
      const r = await starting;
      if (!r) throw new Error('the Flukso server node stopped');
      return r.server;
    };

    onCloseBounded(node, async () => {
      closed = true;
      clearInterval(timer);
      await starting.catch(() => undefined);
      await running?.close();
      status.idle(status.say('stopped', 'stopped'));
    });
  }

  RED.nodes.registerType('flm-server', FlmServer as never);
}
