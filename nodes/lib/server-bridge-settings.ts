import { z } from 'zod';
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
}

export function isBridgeBackendProvider(n: unknown): n is BridgeBackendProvider {
  return typeof (n as Partial<BridgeBackendProvider> | null)?.bridgeBackend === 'function';
}
