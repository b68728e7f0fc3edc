import type { Node, NodeAPI, NodeDef } from 'node-red';
import { runServer, type RunningServer } from '../core/server/run';
import { Status } from './lib/status';
import { onCloseBounded } from './lib/close';
import { parseSettings } from './lib/settings';
import { serverSettings } from './lib/server-settings';
import { bridgeStarter } from '../core/server/bridge-starter';

/** A Flukso-compatible server: HTTP ingestion and read APIs, and the MQTT bridge endpoint. */
export default function (RED: NodeAPI): void {
  function FlmServer(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node);
    let running: RunningServer | undefined;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;

    const starting = (async () => {
      const s = parseSettings(serverSettings, def);
      status.idle('starting');
      const r = await runServer({
        dataDir: s.dataDir,
        host: s.host,
        port: s.apiPort,
        bridgePort: s.bridgePort,
        tlsCertFile: s.tlsCert || undefined,
        tlsKeyFile: s.tlsKey || undefined,
        https: s.https,
        tlsNames: s.names,
        maxConnections: s.maxConnections,
        startBridge: bridgeStarter,
        onError: (err) => node.error(err instanceof Error ? err.message : String(err)),
      });
      if (closed) return void (await r.close());
      running = r;
      node.log(`Flukso API on ${r.server.url}`);
      if (r.bridge) node.log(`MQTT bridge endpoint on ${s.host}:${r.bridge.port}`);
      if (r.tls?.caFile) node.log(`CA for the FLMs (bridge_cafile): ${r.tls.caFile}`);
      const show = () => status.ok(r.status());
      show();
      timer = setInterval(show, 5000);
    })().catch((err: unknown) => status.failed(err));

    onCloseBounded(node, async () => {
      closed = true;
      clearInterval(timer);
      await starting;
      await running?.close();
      status.idle('stopped');
    });
  }

  RED.nodes.registerType('flm-server', FlmServer as never);
}
