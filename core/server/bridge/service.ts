import { join } from 'node:path';
import type { AedesOptions } from 'aedes';
import type { BridgeBackend } from './backend';
import { BridgeEndpoint, type BridgeLimits } from './endpoint';
import { serverTls } from './server-tls';

export interface BridgeServiceOptions {
  backend: BridgeBackend;
  host: string;
  port: number;
  /** the server's data folder; a generated CA and certificate go to `<dataDir>/server-tls` */
  dataDir: string;
  certFile?: string;
  keyFile?: string;
  /** names and addresses FLMs use as bridge_address, for a generated certificate */
  names?: string[];
  limits?: Partial<BridgeLimits>;
  aedes?: Pick<AedesOptions, 'mq' | 'persistence' | 'id'>;
}

export interface BridgeService {
  endpoint: BridgeEndpoint;
  /** the CA file to install on FLMs as bridge_cafile; undefined with the operator's own certificate */
  caFile?: string;
  /** mqtts://host:port */
  label: string;
}

/** The bridge endpoint with its certificate in place, as a node or `npm start` runs it. */
export async function startBridgeService(o: BridgeServiceOptions): Promise<BridgeService> {
  const tls = await serverTls({
    dir: serverTlsDir(o.dataDir),
    ...(o.certFile ? { certFile: o.certFile } : {}),
    ...(o.keyFile ? { keyFile: o.keyFile } : {}),
    ...(o.names ? { names: o.names } : {}),
  });
  const endpoint = await BridgeEndpoint.start({
    backend: o.backend,
    host: o.host,
    port: o.port,
    tls: { cert: tls.cert, key: tls.key },
    ...(o.limits ? { limits: o.limits } : {}),
    ...(o.aedes ? { aedes: o.aedes } : {}),
  });
  return {
    endpoint,
    ...(tls.caFile ? { caFile: tls.caFile } : {}),
    label: `mqtts://${o.host.includes(':') ? `[${o.host}]` : o.host}:${endpoint.port}`,
  };
}

const serverTlsDir = (dataDir: string): string => join(dataDir, 'server-tls');

/** One line for a node's status: devices connected, blocks stored, what was turned away. */
export function bridgeStatusLine(e: BridgeEndpoint): string {
  const c = e.counts;
  const refused =
    c.get('login-refused') +
    c.get('protocol-refused') +
    c.get('foreign-topic') +
    c.get('foreign-sensor') +
    c.get('block-refused') +
    c.get('config-refused') +
    c.get('packet-too-large') +
    c.get('connections-refused');
  const failed = c.get('store-failed') + c.get('backend-failed');
  return (
    `${e.clients} FLM${e.clients === 1 ? '' : 's'} · ${c.get('block')} blocks` +
    (refused ? ` · ${refused} refused` : '') +
    (failed ? ` · ${failed} store failures` : '')
  );
}
