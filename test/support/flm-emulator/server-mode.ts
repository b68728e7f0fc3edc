import { execFile } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, tempDir } from '../nodered';
import { repoRoot } from '../paths';
import { start, type Running } from '../processes';
import { portOpen } from '../net';
import { runFlm } from '../cli';

/**
 * `FLM_MODE=server npm start` as a person runs it (dist/scripts/start.js after the build), in a
 * temp dir on free loopback ports, and the `flm server ...` CLI on the same data dir.
 */

export interface ServerPlace {
  dir: { path: string; remove: () => Promise<void> };
  api: number;
  bridge: number;
  ui: number;
  mqtt: number;
  ws: number;
}

export const dataDirOf = (p: ServerPlace): string => join(p.dir.path, 'data');

export async function serverPlace(): Promise<ServerPlace> {
  return {
    dir: await tempDir('flm-server-'),
    api: await freePort(),
    bridge: await freePort(),
    ui: await freePort(),
    mqtt: await freePort(),
    ws: await freePort(),
  };
}

export function startServerMode(p: ServerPlace, env: Record<string, string> = {}): Running {
  return start(process.execPath, [join(repoRoot, 'dist', 'scripts', 'start.js')], {
    FLM_MODE: 'server',
    FLM_USER_DIR: join(p.dir.path, 'user'),
    FLM_DATA_DIR: dataDirOf(p),
    FLM_UI_PORT: String(p.ui),
    FLM_API_PORT: String(p.api),
    FLM_BRIDGE_PORT: String(p.bridge),
    FLM_MQTT_PORT: String(p.mqtt),
    FLM_WS_PORT: String(p.ws),
    FLM_ADMIN_PASSWORD: 'emulator-test-password',
    FLM_LOG_LEVEL: 'warn',
    ...env,
  });
}

/** Wait for `GET /health` to answer 200; throws with the server's output when it does not. */
export async function untilHealthy(p: ServerPlace, run: Running, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (run.proc.exitCode !== null) throw new Error(`server mode exited with ${run.proc.exitCode}:\n${run.output()}`);
    const ok = await fetch(`http://127.0.0.1:${p.api}/health`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > end) throw new Error(`GET /health was not 200 within ${timeoutMs} ms:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILL, as a power cut or the OOM killer would. */
export async function killHard(run: Running): Promise<void> {
  if (run.proc.exitCode !== null || run.proc.signalCode !== null) return;
  run.proc.kill('SIGKILL');
  await run.exited;
}

const exec = promisify(execFile);

/** `flm <args> --data <dir>`; the printed text, or a throw with it. */
export async function flmCli(p: ServerPlace, args: string[]): Promise<string> {
  try {
    const r = await exec(
      process.execPath,
      [join(repoRoot, 'dist', 'core', 'cli', 'flm.js'), ...args, '--data', dataDirOf(p)],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return r.stdout + r.stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`flm ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** `flm <args> --data <dir>` run in this process (core/cli/main), as flmCli otherwise. */
export async function flmCliInProcess(p: ServerPlace, args: string[]): Promise<string> {
  const r = await runFlm([...args, '--data', dataDirOf(p)]);
  if (r.code !== 0) throw new Error(`flm ${args.join(' ')} exited ${r.code}: ${r.out}${r.err}`);
  return r.out + r.err;
}

/**
 * The CA file the server made for its bridge endpoint (`<data>/server-tls/`), as an FLM's
 * bridge_cafile, once it exists and the bridge port listens (the bridge starts after /health).
 */
export async function bridgeCaFile(p: ServerPlace, output: () => string, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  const dir = join(dataDirOf(p), 'server-tls');
  for (;;) {
    const printed = /(\S*server-tls\S*ca\S*\.(?:pem|crt))/.exec(output())?.[1];
    const files = await readdir(dir).catch(() => [] as string[]);
    const ca = files.find((f) => /ca/i.test(f) && /\.(pem|crt)$/.test(f));
    const file = printed && (await exists(printed)) ? printed : ca ? join(dir, ca) : undefined;
    if (file && (await portOpen(p.bridge))) return file;
    if (Date.now() > end)
      throw new Error(`no CA file in ${dir} (${files.join(', ')}) or bridge port ${p.bridge} closed:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exists = (f: string): Promise<boolean> =>
  access(f).then(
    () => true,
    () => false,
  );
