import { z } from 'zod';
import type { AedesOptions } from 'aedes';
import type { BridgeBackend } from '../../core/server/bridge/backend';
import { DEFAULT_BRIDGE_LIMITS } from '../../core/server/bridge/endpoint';
import { setting, textSetting, isPort } from './settings';

const positive = (n: number) => Number.isInteger(n) && n > 0;
const D = DEFAULT_BRIDGE_LIMITS;

/** flm-server-bridge's properties as the editor or a hand-written flow gives them. */
export const serverBridgeSettings = z.object({
  /** the node whose store takes what devices send (see BridgeBackendProvider) */
  server: setting.text(),
  host: setting.text('127.0.0.1'),
  port: setting.number(8883, 'MQTT bridge port', isPort),
  /** PEM files; blank: a CA and certificate made once in <data dir>/server-tls */
  certFile: setting.text(),
  keyFile: setting.text(),
  /** comma-separated names or addresses FLMs use as bridge_address, for the generated certificate */
  tlsNames: setting.read((v) =>
    textSetting(v)
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  ),
  dataDir: setting.text(),
  maxConnections: setting.number(D.maxConnections, 'maximum connections', positive),
  maxPacketKB: setting.number(Math.ceil(D.maxPacketBytes / 1024), 'maximum packet size', positive),
  publishesPerSecond: setting.number(D.publishesPerSecond, 'publishes per second per device', positive),
});

/**
 * What the node named in `server` offers: the store behind the endpoint. The server's node
 * (or any config node) provides it; the bridge node only speaks MQTT.
 */
export interface BridgeBackendProvider {
  bridgeBackend(): BridgeBackend | Promise<BridgeBackend>;
  /**
   * aedes's emitter and persistence when the server runs as one of several instances (Redis);
   * absent or undefined: in memory (docs/protocols/server-bridge.md#several-instances).
   */
  bridgeCluster?(): BridgeClusterOptions | undefined | Promise<BridgeClusterOptions | undefined>;
}

export type BridgeClusterOptions = Pick<AedesOptions, 'mq' | 'persistence'>;

function isBridgeBackendProvider(n: unknown): n is BridgeBackendProvider {
  return typeof (n as Partial<BridgeBackendProvider> | null)?.bridgeBackend === 'function';
}

/**
 * The provider node `find` returns, waiting up to `boundMs` for it: a flow node listed after
 * this one in the flow is created after it.
 */
export async function bridgeBackendProvider(find: () => unknown, boundMs = 5000): Promise<BridgeBackendProvider> {
  const until = Date.now() + boundMs;
  for (;;) {
    const n = find();
    if (isBridgeBackendProvider(n)) return n;
    if (Date.now() >= until) throw new Error('choose the Flukso server node whose store takes the data');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A node of the deployed flows as `RED.nodes.eachNode` gives it. */
export interface FlowNodeDef {
  id: string;
  type: string;
  z?: string;
}

const isServerType = (type: string): boolean => /^flm-server/.test(type) && type !== 'flm-server-bridge';

/**
 * The id of the server node the bridge should use. Node-RED renumbers ids when a flow is imported
 * (an example imported twice, a flow copied) and remaps only wires and config-node properties, so
 * `server` may name a node that is not there: then the only Flukso server node on the bridge's
 * tab, else the only one in the flows, stands in (`substitute`), as the editor offers it too.
 * Undefined when none is named; a stale id with no single stand-in stays as it is (and the wait
 * for it ends in a clear error).
 */
export function serverNodeId(
  wanted: string,
  z: string | undefined,
  defs: readonly FlowNodeDef[],
): { id: string; substitute: boolean } | undefined {
  if (!wanted) return undefined;
  if (defs.some((d) => d.id === wanted)) return { id: wanted, substitute: false };
  const servers = defs.filter((d) => isServerType(d.type));
  const onTab = servers.filter((d) => d.z === z);
  const only = onTab.length === 1 ? onTab[0] : servers.length === 1 ? servers[0] : undefined;
  return only ? { id: only.id, substitute: true } : { id: wanted, substitute: false };
}
