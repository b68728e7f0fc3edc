import { join } from 'node:path';
import { repoRoot } from './paths';
import { freePort, tempDir } from './nodered';
import { start } from './processes';

/** Where a pipeline ran: its temp dir (user and data) and its ports. */
export interface PipelinePlace {
  dir: { path: string; remove: () => Promise<void> };
  ui: number;
  mqttPort: number;
  ws: number;
  api: number;
}

/**
 * Run `npm start`'s script (dist/scripts/start.js) as a person would, in a temp user and data
 * dir, on free loopback ports; `env` adds or overrides FLM_* variables.
 */
export async function startPipeline(env: Record<string, string> = {}, again?: PipelinePlace) {
  // `again`: start once more on the dir and ports of an earlier run (a restart after a crash).
  const [ui, mqttPort, ws, api] = again
    ? [again.ui, again.mqttPort, again.ws, again.api]
    : [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = again?.dir ?? (await tempDir('flm-start-'));
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
