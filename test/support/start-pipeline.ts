import { join } from 'node:path';
import { repoRoot } from './paths';
import assert from 'node:assert/strict';
import { freePort, tempDir, waitFor } from './nodered';
import { start, type Running } from './processes';

/**
 * Run `npm start`'s script (dist/scripts/start.js) as a person would, in a temp user and data
 * dir (or `opts.dir`'s, to start again on what a run left), on free loopback ports; `env` adds
 * or overrides FLM_* variables.
 */
export async function startPipeline(env: Record<string, string> = {}, opts: { dir?: { path: string; remove: () => Promise<void> } } = {}) {
  const [ui, mqttPort, ws, api] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = opts.dir ?? (await tempDir('flm-start-'));
  const run = start(process.execPath, [join(repoRoot, 'dist', 'scripts', 'start.js')], {
    FLM_USER_DIR: join(dir.path, 'user'),
    FLM_DATA_DIR: join(dir.path, 'data'),
    FLM_UI_PORT: String(ui),
    FLM_MQTT_PORT: String(mqttPort),
    FLM_WS_PORT: String(ws),
    FLM_API_PORT: String(api),
    FLM_LOG_LEVEL: 'warn',
    ...env,
  });
  return { run, dir, ui, mqttPort, ws, api };
}

/** The editor is up: `npm start` prints its address once Node-RED has started. */
export async function untilEditorUp(run: Running, timeoutMs = 60_000): Promise<void> {
  await waitFor('"flm: editor on" in the npm start output', () => {
    if (run.proc.exitCode !== null) assert.fail(`npm start exited with ${run.proc.exitCode}:\n${run.output()}`);
    return run.output().includes('flm: editor on');
  }, timeoutMs, 50);
}
