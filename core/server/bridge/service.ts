import { join } from 'node:path';
import type { AedesOptions } from 'aedes';
import type { BridgeBackend } from './backend';
import { BridgeEndpoint, type BridgeLimits } from './endpoint';
import { serverTls } from './server-tls';
import { phrasedView, type Phrase, type StatusView } from '../../util/status-view';

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

/** One line for a node's status, as phrases it translates: devices connected, blocks stored, what was turned away. */
export function bridgeStatusLine(e: BridgeEndpoint): StatusView {
  const c = e.counts;
  const refused =
    c.get('login-refused') +
    c.get('protocol-refused') +
    c.get('foreign-topic') +
    c.get('foreign-sensor') +
    c.get('block-refused') +
    c.get('config-refused') +
    c.get('packet-too-large') +
    c.get('user-publish-refused') +
    c.get('connections-refused');
  const failed = c.get('store-failed') + c.get('backend-failed');
  const n = e.clients;
  const blocks = c.get('block');
  const phrases: Phrase[] = [
    n === 1 ? { key: 'oneFlm', en: '1 FLM' } : { key: 'flms', en: `${n} FLMs`, params: { n } },
    { key: 'blocks', en: `${blocks} blocks`, params: { n: blocks } },
  ];
  if (refused) phrases.push({ key: 'refused', en: `${refused} refused`, params: { n: refused } });
  if (failed) phrases.push({ key: 'storeFailed', en: `${failed} store failures`, params: { n: failed } });
  return phrasedView('ok', phrases);
}
