import { readFile } from 'node:fs/promises';
import { FluksoServer, type FluksoServerOptions } from './service';
import { phrasedView, type StatusView } from '../util/status-view';

/**
 * The Flukso server's HTTP half as flm-server and `FLM_MODE=server npm start` run it: HTTPS when
 * a certificate and key are given, plain HTTP otherwise (behind a TLS proxy, or on a LAN). The MQTT
 * bridge endpoint is its own node (flm-server-bridge) and gets the store through `bridgeBackend`.
 */

export interface ServerRunOptions extends Omit<FluksoServerOptions, 'tls'> {
  /** PEM files; with both, the API is HTTPS */
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

export interface RunningServer {
  server: FluksoServer;
  /** readings stored · uploads taken · TMPO blocks taken · requests refused, as phrases a node translates */
  status(): StatusView;
  close(): Promise<void>;
}

export async function runServer(opts: ServerRunOptions): Promise<RunningServer> {
  if (Boolean(opts.tlsCertFile) !== Boolean(opts.tlsKeyFile))
    throw new Error('give both the TLS certificate and its key, or neither');
  const tls =
    opts.tlsCertFile && opts.tlsKeyFile
      ? { cert: await readFile(opts.tlsCertFile), key: await readFile(opts.tlsKeyFile) }
      : undefined;
  const server = await FluksoServer.start({ ...opts, ...(tls ? { tls } : {}) });
  return {
    server,
    status() {
      const s = server.store.stats();
      const c = server.counters;
      const refused = Object.values(c.rejects).reduce((a, n) => a + (n ?? 0), 0);
      const blocks = server.bridgeBackend.counters.blocks;
      return phrasedView('ok', [
        { key: 'readings', en: `${s.stored} readings`, params: { n: s.stored } },
        { key: 'posts', en: `${c.posts} posts`, params: { n: c.posts } },
        { key: 'blocks', en: `${blocks} blocks`, params: { n: blocks } },
        { key: 'refused', en: `${refused} refused`, params: { n: refused } },
      ]);
    },
    close: () => server.close(),
  };
}
