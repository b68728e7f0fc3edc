import type { Node, NodeAPI, NodeDef } from 'node-red';
import { join } from 'node:path';
import { startBridgeService, bridgeStatusLine, type BridgeService } from '../core/server/bridge/service';
import type { BridgeRefusal, BridgeLogin } from '../core/server/bridge/endpoint';
import { Status, statusTranslator } from './lib/status';
import { onCloseBounded } from './lib/close';
import { parseSettings } from './lib/settings';
import {
  serverBridgeSettings,
  bridgeBackendProvider,
  serverNodeId,
  type FlowNodeDef,
} from './lib/server-bridge-settings';

/** Refusals of one kind logged in full: the first, then every 100th (all are counted in the status). */
const LOG_EVERY = 100;

export default function (RED: NodeAPI): void {
  function FlmServerBridge(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new Status(node, statusTranslator(RED, 'flm-server-bridge'));
    let service: BridgeService | undefined;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;

    const show = () => service && status.show(bridgeStatusLine(service.endpoint));
    const starting = (async () => {
      const s = parseSettings(serverBridgeSettings, def);
      const defs: FlowNodeDef[] = [];
      RED.nodes.eachNode((n) => void defs.push(n as FlowNodeDef));
      const server = serverNodeId(s.server, (def as { z?: string }).z, defs);
      if (server?.substitute)
        node.warn(`server node ${s.server} is not in the flows (renumbered by an import?): using ${server.id}`);
      const find = () => (server ? RED.nodes.getNode(server.id) : null);
      const provider = await bridgeBackendProvider(find, server ? 5000 : 0);
      if (closed) return;
      status.idle(status.say('starting', 'starting'));
      const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
      const cluster = await provider.bridgeCluster?.();
      const started = await startBridgeService({
        backend: await provider.bridgeBackend(),
        ...(cluster ? { aedes: cluster } : {}),
        host: s.host,
        port: s.port,
        dataDir: s.dataDir || join(userDir, 'flukso'),
        ...(s.certFile ? { certFile: s.certFile } : {}),
        ...(s.keyFile ? { keyFile: s.keyFile } : {}),
        names: s.tlsNames,
        limits: {
          maxConnections: s.maxConnections,
          maxPacketBytes: s.maxPacketKB * 1024,
          publishesPerSecond: s.publishesPerSecond,
        },
      });
      if (closed) return void (await started.endpoint.close(2000));
      service = started;
      const e = started.endpoint;
      e.on('clients', show);
      e.on('login', (l: BridgeLogin) =>
        node.debug(`FLM ${l.did} logged in (MQTT ${l.mqttVersion}, keepalive ${l.keepaliveS} s)`),
      );
      e.on('refused', (r: BridgeRefusal) => {
        const n = e.counts.get(r.reason);
        if (n === 1 || n % LOG_EVERY === 0) node.warn(`${r.detail} (${n} ${r.reason} so far)`);
        show();
      });
      // Block counts change without an event per block; the status follows every few seconds.
      timer = setInterval(show, 5000);
      show();
      node.log(
        `MQTT bridge endpoint for FLMs on ${started.label}` +
          (started.caFile ? `; give FLMs ${started.caFile} as their bridge_cafile` : ''),
      );
    })().catch((err: unknown) => status.failed(err));

    onCloseBounded(node, async () => {
      closed = true;
      clearInterval(timer);
      await starting;
      await service?.endpoint.close(4000);
      status.idle(status.say('stopped', 'stopped'));
    });
  }

  RED.nodes.registerType('flm-server-bridge', FlmServerBridge as never);
}
