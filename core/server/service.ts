import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { StoreBridgeBackend } from './bridge-backend';
import { RegistryTokens } from './access';
import { createServerHandler } from './http';
import { IngestCounters } from './ingest';
import { LiveFeed, feedingLive } from './live-feed';
import { FileRegistry, type Registry } from './registry';
import { openSharedStorage } from './db/open';
import { FileReadingStore, type FileStoreOptions } from './store/file-store';
import type { ReadingStore } from './store/types';

export interface FluksoServerOptions {
  /** the data folder; the server keeps everything in `<dataDir>/server` */
  dataDir: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default 8080; 0 picks a free port */
  port?: number;
  /** PEM; with both, the API is HTTPS */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** open connections at most (default 10 000) */
  maxConnections?: number;
  /** request body bytes at most (default 1 MiB) */
  maxBodyBytes?: number;
  /** Unix seconds; tests pin it */
  now?: () => number;
  store?: Partial<Omit<FileStoreOptions, 'dir' | 'cfg' | 'now'>>;
  /**
   * `mysql://user:password@host:port/database`: the registry and the readings live in that
   * MariaDB/MySQL database, shared by every instance naming it (docs/protocols/server.md#shared-database),
   * instead of under `<dataDir>/server`.
   */
  dbUrl?: string;
  /** see rest.ts */
  maxGap?: number;
  /** seconds after its end that a quiet sensor's window is sealed and listed (the stores' `sealAfter`, default 360) */
  tmpoGrace?: number;
  onError?: (err: unknown) => void;
  /** what else must be up for `/health` to say ok (Redis behind the MQTT bridge, say) */
  alsoHealthy?: () => boolean;
}

/**
 * The Flukso-compatible server (docs/protocols/server.md): the registry and the reading store
 * under `<dataDir>/server`, the HTTP API on one port, and the backend the MQTT bridge endpoint
 * (core/server/bridge/) is given. `flm-server` and `FLM_MODE=server npm start` run this.
 */
export class FluksoServer {
  readonly counters = new IngestCounters();
  readonly bridgeBackend: StoreBridgeBackend;
  private readonly http: Server;
  private readonly sockets = new Set<Socket>();
  private boundPort: number | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: FluksoServerOptions,
    readonly registry: Registry,
    readonly store: ReadingStore,
  ) {
    const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    // uploads and blocks alike: once stored, the newest reading goes to the bridge endpoint's subscribers
    const live = new LiveFeed(registry);
    const feeding = feedingLive(store, live);
    this.bridgeBackend = new StoreBridgeBackend(registry, feeding, join(opts.dataDir, 'server', 'device-config'), live);
    const handler = createServerHandler({
      registry,
      store: feeding,
      counters: this.counters,
      now,
      tokens: new RegistryTokens(registry),
      ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
      health: () => ({
        ok: store.healthy() && (opts.alsoHealthy?.() ?? true),
        store: store.stats(),
        ingest: this.counters,
        bridge: this.bridgeBackend.counters,
      }),
      ...(opts.onError ? { onError: opts.onError } : {}),
    });
    this.http = opts.tls
      ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
      : createHttpServer(handler);
    // A slow or silent client does not hold a socket for ever; the FLM keeps one connection open
    // across its sensors' POSTs (5 s send/receive timeouts on its side).
    this.http.headersTimeout = 10_000;
    this.http.requestTimeout = 30_000;
    this.http.keepAliveTimeout = 15_000;
    this.http.maxConnections = opts.maxConnections ?? 10_000;
    this.http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  static async start(opts: FluksoServerOptions): Promise<FluksoServer> {
    const { registry, store } = await FluksoServer.openStorage(opts);
    const server = new FluksoServer(opts, registry, store);
    try {
      await server.listen();
    } catch (err) {
      await store.close();
      throw err;
    }
    return server;
  }

  /** The file registry and store under `<dataDir>/server`, or both in the shared database. */
  private static async openStorage(opts: FluksoServerOptions): Promise<{ registry: Registry; store: ReadingStore }> {
    const cfg =
      (registry: Registry) =>
      (sid: string, rid: number): Record<string, unknown> => ({
        ...(registry.sensor(sid)?.config ?? { id: sid }),
        data_type: 'counter',
        rid,
      });
    const common = {
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.onError ? { onError: opts.onError } : {}),
      ...(opts.tmpoGrace !== undefined ? { sealAfter: opts.tmpoGrace } : {}),
    };
    if (opts.dbUrl) return openSharedStorage({ url: opts.dbUrl, cfg, ...common });
    const dir = join(opts.dataDir, 'server');
    const registry = await FileRegistry.open(dir);
    const store = await FileReadingStore.open({ ...opts.store, dir, cfg: cfg(registry), ...common });
    return { registry, store };
  }

  private listen(): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    const port = this.opts.port ?? 8080;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void =>
        reject(
          new Error(
            err.code === 'EADDRINUSE'
              ? `API port ${port} on ${host} is already in use`
              : `cannot listen on ${host}:${port}: ${err.message}`,
          ),
        );
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        this.http.on('error', (err) => this.opts.onError?.(err));
        this.boundPort = (this.http.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  get port(): number {
    return this.boundPort ?? 0;
  }

  /** `http(s)://host:port/`, the base an FLM's `wan_base_url` names. */
  get url(): string {
    const host = this.opts.host ?? '127.0.0.1';
    return `${this.opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${this.port}/`;
  }

  get readings(): ReadingStore {
    return this.store;
  }

  get accounts(): Registry {
    return this.registry;
  }

  /** Stop taking requests, finish the running ones (up to `timeoutMs`), close the store. */
  close(timeoutMs = 3000): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      for (const s of this.sockets) s.destroy();
      await this.store.close();
    })();
    return this.closing;
  }
}
