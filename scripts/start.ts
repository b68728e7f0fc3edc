/**
 * `npm start`: Node-RED with this package and flows/flm.json, in a local user dir (./.flm).
 * Every FLM_* variable of the README gets its default here, so the flow's ${VAR} fields
 * always resolve.
 */
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, lstatSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/util/atomic-file';
import { startDefaults, type StartEnv } from './start-env';
import { editorLock, loginNotice } from './start-auth';
import { privateByDefault, closeSecretFiles } from './start-secrets';
import { checkStartPorts } from './start-ports';

const root = resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string };

async function main(): Promise<void> {
  privateByDefault();
  const env: StartEnv = startDefaults(process.env, root);
  Object.assign(process.env, env);
  await checkStartPorts(env);
  const userDir = resolve(process.env.FLM_USER_DIR || join(root, '.flm'));
  mkdirSync(join(userDir, 'node_modules'), { recursive: true });
  linkPackage(userDir);
  const serverMode = env.FLM_MODE === 'server';
  const flowFile = serverMode ? 'flows-server.json' : 'flows.json';
  installFlow(userDir, serverMode ? 'server.json' : 'flm.json', flowFile);
  await seedIdentity(env);
  for (const p of await closeSecretFiles(userDir, env.FLM_DATA_DIR))
    console.log(`flm: ${p} was readable by others; now 0600`);

  const nodeRed = require.resolve('node-red');
  // express comes with node-red; resolve it from there rather than depending on it ourselves.
  const express = require(require.resolve('express', { paths: [nodeRed] })) as () => any;
  const RED = require(nodeRed);
  const app = express();
  const server = createServer(app);
  const lock = await editorLock({
    user: env.FLM_ADMIN_USER || 'admin',
    password: process.env.FLM_ADMIN_PASSWORD,
    dataDir: env.FLM_DATA_DIR,
    uiBind: env.FLM_UI_BIND,
    allowedHosts: env.FLM_ALLOWED_HOSTS,
    nodeRedPath: nodeRed,
  });
  const settings = {
    userDir,
    flowFile,
    ...lock.settings,
    uiHost: env.FLM_UI_BIND,
    uiPort: Number(env.FLM_UI_PORT),
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    editorTheme: { tours: false, projects: { enabled: false } },
    telemetry: { enabled: false },
    logging: { console: { level: process.env.FLM_LOG_LEVEL || 'info', metrics: false, audit: false } },
  };
  RED.init(server, settings);
  lock.install(app, server, RED, { admin: settings.httpAdminRoot, node: settings.httpNodeRoot });

  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? new Error(`editor port ${env.FLM_UI_PORT} on ${env.FLM_UI_BIND} is already in use (set FLM_UI_PORT)`)
          : err,
      ),
    );
    server.listen(Number(env.FLM_UI_PORT), env.FLM_UI_BIND, () => ok());
  });
  await RED.start();
  const editorUrl = `http://${env.FLM_UI_BIND.includes(':') ? `[${env.FLM_UI_BIND}]` : env.FLM_UI_BIND}:${env.FLM_UI_PORT}/`;
  if (serverMode) {
    for (const line of serverNotice(env)) console.log(line);
    console.log(`flm: editor on ${editorUrl}  data in ${env.FLM_DATA_DIR}`);
    console.log(
      `flm: dashboard of every device on ${editorUrl}flm/dashboard/ (the editor login, or a user's master token)`,
    );
  } else {
    console.log(
      `flm: editor on ${editorUrl}  MQTT on ${env.FLM_BIND}:${env.FLM_MQTT_PORT}  data in ${env.FLM_DATA_DIR}`,
    );
    console.log(`flm: dashboard on ${editorUrl}flm/dashboard/ (same login as the editor)`);
  }
  for (const line of loginNotice(lock.login)) console.log(line);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      console.log('flm: second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    console.log(`flm: ${signal}, stopping`);
    const force = setTimeout(() => {
      console.error('flm: stop took more than 20 s, exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    try {
      await RED.stop();
    } finally {
      server.closeAllConnections?.();
      server.close(() => process.exit(0));
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Make this checkout an installed module of the user dir, so Node-RED loads its nodes. */
function linkPackage(userDir: string): void {
  const link = join(userDir, 'node_modules', pkg.name);
  try {
    if (lstatSync(link).isSymbolicLink()) return;
    rmSync(link, { recursive: true, force: true });
  } catch {
    /* absent */
  }
  symlinkSync(root, link, 'dir');
}

/**
 * Put flows/flm.json in place as the user dir's flows.json. A copy the person changed in the
 * editor is kept; a copy nobody touched follows flows/flm.json when it changes.
 */
function installFlow(userDir: string, flow: string, flowFile: string): void {
  const source = readFileSync(join(root, 'flows', flow), 'utf8');
  const target = join(userDir, flowFile);
  const marker = join(userDir, flowFile === 'flows.json' ? '.flows-installed.sha256' : `.${flowFile}-installed.sha256`);
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  if (existsSync(target)) {
    const current = readFileSync(target, 'utf8');
    const installed = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '';
    if (sha(current) !== installed) {
      if (sha(source) !== installed)
        console.log(`flm: keeping your edited .flm/${flowFile} (delete it to get flows/${flow} again)`);
      return;
    }
    if (current === source) return;
  }
  writeFileSync(target, source);
  writeFileSync(marker, sha(source) + '\n');
}

/** Where FLM_MODE=server answers, for the person setting up FLMs (README "Run your own Flukso server"). */
function serverNotice(env: StartEnv): string[] {
  const host = env.FLM_BIND.includes(':') ? `[${env.FLM_BIND}]` : env.FLM_BIND;
  const https = Boolean(env.FLM_SERVER_TLS_CERT && env.FLM_SERVER_TLS_KEY);
  const bridge = env.FLM_BRIDGE_PORT.trim();
  const lines = [`flm: Flukso server API on ${https ? 'https' : 'http'}://${host}:${env.FLM_API_PORT || '8080'}/`];
  if (bridge && bridge !== 'off') {
    lines.push(`flm: MQTT bridge endpoint (TLS) on ${host}:${bridge}`);
    lines.push(
      https
        ? `flm: bridge certificate ${env.FLM_SERVER_TLS_CERT} (give the FLMs its CA as bridge_cafile)`
        : `flm: CA for the FLMs (bridge_cafile) ${join(env.FLM_DATA_DIR, 'server-tls', 'ca.crt')}`,
    );
    // The URL may carry a password: only where it is.
    const redis = URL.canParse(env.FLM_REDIS_URL) ? new URL(env.FLM_REDIS_URL) : undefined;
    if (redis) lines.push(`flm: MQTT bridge shared with the other instances on Redis ${redis.host} (FLM_REDIS_URL)`);
  }
  if (env.FLM_SERVER_DB_URL) {
    // Where, without the password: the URL itself may carry it.
    const u = URL.canParse(env.FLM_SERVER_DB_URL) ? new URL(env.FLM_SERVER_DB_URL) : undefined;
    lines.push(
      u
        ? `flm: registry and readings in database ${u.pathname.slice(1)} on ${u.host} (FLM_SERVER_DB_URL, shared)`
        : 'flm: FLM_SERVER_DB_URL is not a URL (mysql://user:password@host:port/database)',
    );
    lines.push('flm: manage devices and users with: flm server --help (FLM_SERVER_DB_URL set: --db)');
  } else lines.push(`flm: manage devices and users with: flm server --help (data in ${env.FLM_DATA_DIR})`);
  return lines;
}

/** FLM_DEVICE_ID / FLM_DEVICE_KEY, when given, become the identity kept in the data dir. */
async function seedIdentity(env: StartEnv): Promise<void> {
  if (!env.FLM_DEVICE_ID && !env.FLM_DEVICE_KEY) return;
  for (const k of ['FLM_DEVICE_ID', 'FLM_DEVICE_KEY'] as const) {
    if (env[k] && !/^[0-9a-f]{32}$/.test(env[k])) throw new Error(`${k} must be 32 lowercase hex characters`);
  }
  const path = join(env.FLM_DATA_DIR, 'device.json');
  const current = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { id?: string; key?: string }) : {};
  const next = { id: env.FLM_DEVICE_ID || current.id, key: env.FLM_DEVICE_KEY || current.key };
  if (next.id !== current.id || next.key !== current.key) {
    await writeFileAtomic(path, JSON.stringify(next, null, 2) + '\n', 0o600);
  }
}

main().catch((err: unknown) => {
  console.error(`flm: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
