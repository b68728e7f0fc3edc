import { createServer, type Server } from 'node:http';
import { editorLock, type EditorLogin, type Middleware } from '../../../scripts/start-auth';
import { login } from './admin-api';

/** One line Node-RED logged (level 20 = error, 30 = warn, 40 = info …). */
export interface LogEntry {
  level: number;
  type?: string;
  id?: string;
  msg: string;
}

export interface EmbeddedNodeRed {
  baseUrl: string;
  /** the editor login, locked as `npm start` locks it (password generated into the data dir) */
  login: EditorLogin;
  /** a Bearer token of that login, for the admin API */
  token: string;
  /** warnings and errors Node-RED logged since start */
  logs: LogEntry[];
  /** a running node of the deployed flows, for in-process tests and benchmarks */
  getNode(id: string): any;
  stop(): Promise<void>;
}

interface NodeRedRuntime {
  init(server: Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: unknown;
  httpNode: unknown;
  auth: { needsPermission(permission: string): Middleware };
  nodes: { getNode(id: string): unknown };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A login makes Node-RED arm a timer for the session's expiry, a week ahead, which it never
 * clears: in a test process that would outlive `RED.stop()` and keep the process from ending.
 * Timers that long are let go of (unref), so they never hold a test up.
 */
function letGoOfLongTimers(): void {
  const DAY_MS = 86_400_000;
  const original = globalThis.setTimeout;
  if ((original as { flmLetGo?: boolean }).flmLetGo) return;
  const patched = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t = original(fn, ms, ...args);
    if ((ms ?? 0) >= DAY_MS) t.unref();
    return t;
  }) as unknown as typeof setTimeout;
  Object.assign(patched, original, { flmLetGo: true });
  globalThis.setTimeout = patched;
}

/**
 * Node-RED embedded (CONTRIBUTING.md#end-to-end-tests): the devDependency `node-red`,
 * an express app on 127.0.0.1:<port>, admin at `/`, HTTP nodes at `/api`, locked with the same
 * login and Host check as `npm start` (the password generated into `dataDir`, default the user
 * dir). Node-RED keeps module-level state, so this can run only once per process.
 */
export async function startEmbeddedNodeRed(opts: {
  userDir: string;
  port: number;
  host?: string;
  logLevel?: string;
  dataDir?: string;
}): Promise<EmbeddedNodeRed> {
  const host = opts.host ?? '127.0.0.1';
  const nodeRedPath = require.resolve('node-red');
  letGoOfLongTimers();
  const lock = await editorLock({
    user: 'admin',
    dataDir: opts.dataDir ?? opts.userDir,
    uiBind: host,
    allowedHosts: '',
    nodeRedPath,
  });
  // express comes with node-red; resolve it from there (as scripts/start.ts does).
  const express = require(require.resolve('express', { paths: [nodeRedPath] })) as () => ((
    ...args: unknown[]
  ) => void) & { use(...args: unknown[]): unknown };
  const RED = require(nodeRedPath) as NodeRedRuntime;
  const logs: LogEntry[] = [];
  const app = express();
  const server = createServer(app);
  const settings = {
    userDir: opts.userDir,
    flowFile: 'flows.json',
    credentialSecret: 'e2e-test',
    ...lock.settings,
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    uiHost: host,
    uiPort: opts.port,
    // palette.catalogues: [] keeps the palette manager from fetching catalogue.nodered.org.
    editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
    telemetry: { enabled: false },
    logging: {
      console: { level: opts.logLevel ?? 'warn', metrics: false, audit: false },
      e2e: {
        level: 'warn',
        metrics: false,
        audit: false,
        handler: () => (m: { level: number; type?: string; id?: string; msg?: unknown }) => {
          logs.push({
            level: m.level,
            type: m.type,
            id: m.id,
            msg: m.msg instanceof Error ? m.msg.message : String(m.msg),
          });
        },
      },
    },
  };
  RED.init(server, settings);
  lock.install(app, server, RED, { admin: settings.httpAdminRoot, node: settings.httpNodeRoot });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => resolve());
  });
  let started = false;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      if (started) await withTimeout(RED.stop(), 30_000, 'RED.stop()');
    } finally {
      server.closeAllConnections();
      await withTimeout(
        new Promise<void>((resolve) => server.close(() => resolve())),
        5_000,
        'closing the editor server',
      ).catch(() => undefined);
    }
  };
  try {
    await withTimeout(RED.start(), 60_000, 'RED.start()');
    started = true;
  } catch (err) {
    started = true; // a half-started runtime still needs stop()
    await stop().catch(() => undefined);
    throw err;
  }
  const baseUrl = `http://${host}:${opts.port}`;
  let token: string;
  try {
    token = await login(baseUrl, lock.login.user, lock.login.password);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { baseUrl, login: lock.login, token, logs, stop, getNode: (id) => RED.nodes.getNode(id) };
}
