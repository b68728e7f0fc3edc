import { FluksoServer, type FluksoServerOptions } from './service';
import type { BridgeBackend } from './bridge/backend';
import { serverTls, type ServerTls } from './tls-files';

/**
 * The Flukso server as flm-server and `FLM_MODE=server npm start` run it: the HTTP API and the
 * MQTT bridge endpoint, with TLS from the given files or from `<data>/server-tls/`.
 */

/** What starts the MQTT bridge endpoint (core/server/bridge/) on the backend. */
export type BridgeStarter = (opts: {
  backend: BridgeBackend;
  host: string;
  port: number;
  tls: { cert: Buffer; key: Buffer };
}) => Promise<{ port: number; close(): Promise<void> }>;

export interface ServerRunOptions extends Omit<FluksoServerOptions, 'tls'> {
  /** 0 picks a free port; undefined: no bridge endpoint */
  bridgePort?: number;
  /** PEM files for HTTPS and the bridge; blank: generated under `<dataDir>/server-tls/` */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** HTTPS even with generated files (the bridge always has TLS) */
  https?: boolean;
  /** more names for a generated certificate */
  tlsNames?: string[];
  startBridge?: BridgeStarter;
}

export interface RunningServer {
  server: FluksoServer;
  bridge: { port: number; close(): Promise<void> } | undefined;
  tls: ServerTls | undefined;
  /** one status line: readings, posts, refusals */
  status(): string;
  close(): Promise<void>;
}

export async function runServer(opts: ServerRunOptions): Promise<RunningServer> {
  const givenTls = Boolean(opts.tlsCertFile || opts.tlsKeyFile);
  const needTls = givenTls || opts.https || opts.bridgePort !== undefined;
  const tls = needTls
    ? await serverTls(opts.dataDir, { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile }, opts.tlsNames)
    : undefined;
  const server = await FluksoServer.start({
    ...opts,
    ...(tls && (givenTls || opts.https) ? { tls: { cert: tls.cert, key: tls.key } } : {}),
  });
  let bridge: RunningServer['bridge'];
  try {
    if (opts.bridgePort !== undefined && opts.startBridge && tls) {
      bridge = await opts.startBridge({
        backend: server.bridgeBackend,
        host: opts.host ?? '127.0.0.1',
        port: opts.bridgePort,
        tls: { cert: tls.cert, key: tls.key },
      });
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    server,
    bridge,
    tls,
    status() {
      const s = server.store.stats();
      const c = server.counters;
      const refused = Object.values(c.rejects).reduce((a, n) => a + (n ?? 0), 0);
      return `${s.stored} readings · ${c.posts} posts · ${server.bridgeBackend.counters.blocks} blocks · ${refused} refused`;
    },
    async close() {
      await bridge?.close();
      await server.close();
    },
  };
}
