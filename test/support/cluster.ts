import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { haproxyConfig } from '../../scripts/haproxy-config';
import { freePort } from './nodered';
import { start, type Running } from './processes';
import { startPipeline, type PipelinePlace } from './start-pipeline';
import { startRedis, type TestRedis } from './redis';
import { tempDir } from './temp-dir';
import { untilListening } from './net';

/**
 * Redis, N `npm start` instances on it and HAProxy in front, all on loopback with free ports
 * (README "Several instances"). `env` goes to every instance (FLM_MODE=server, say, for the
 * server's endpoints); the instances' own ports and dirs are set here.
 */
export interface TestCluster {
  redis: TestRedis;
  instances: Array<PipelinePlace & { run: Running; bridge?: number }>;
  /** what clients use: the balancer */
  mqttUrl: string;
  apiUrl: string;
  haproxy: Running;
  kill: (i: number) => void;
  restart: (i: number) => Promise<void>;
  /** GET /health of instance i: its status code (0: no answer) */
  health: (i: number) => Promise<number>;
  untilHealthy: (i: number, timeoutMs?: number) => Promise<void>;
  stop: () => Promise<void>;
}

export interface ClusterOptions {
  /**
   * 'bridge' (FLM_MODE=server): each instance gets its own FLM_BRIDGE_PORT and the balancer's MQTT
   * frontend leads there (TLS passes through); default: the broker's FLM_MQTT_PORT
   */
  mqttTo?: 'broker' | 'bridge';
  /** called with each instance's FLM_DATA_DIR before its first start (shared certificates, say) */
  prepare?: (dataDir: string) => Promise<void>;
}

export async function startCluster(
  n: number,
  env: Record<string, string> = {},
  opts: ClusterOptions = {},
): Promise<TestCluster> {
  const redis = await startRedis();
  const instances: TestCluster['instances'] = [];
  const dir = await tempDir('flm-haproxy-');
  let haproxy: Running | undefined;
  const stop = async () => {
    await haproxy?.stop(3000);
    await Promise.all(instances.map((p) => p.run.stop(15_000)));
    await Promise.all(instances.map((p) => p.dir.remove()));
    await redis.remove();
    await dir.remove();
  };
  try {
    const withRedis = { FLM_REDIS_URL: redis.url, ...env };
    const bridges: number[] = [];
    if (opts.mqttTo === 'bridge') for (let i = 0; i < n; i++) bridges.push(await freePort());
    const envOf = (i: number) => (bridges[i] ? { ...withRedis, FLM_BRIDGE_PORT: String(bridges[i]) } : withRedis);
    const place = async (): Promise<PipelinePlace | undefined> => {
      if (!opts.prepare) return undefined;
      const p = { dir: await tempDir('flm-start-'), ui: await freePort(), mqttPort: await freePort() };
      const more = { ws: await freePort(), api: await freePort() };
      await opts.prepare(join(p.dir.path, 'data'));
      return { ...p, ...more };
    };
    for (let i = 0; i < n; i++)
      instances.push({
        ...(await startPipeline(envOf(i), await place())),
        ...(bridges[i] ? { bridge: bridges[i] } : {}),
      });
    const health = async (i: number): Promise<number> => {
      try {
        const r = await fetch(`http://127.0.0.1:${instances[i]!.api}/health`, { signal: AbortSignal.timeout(3000) });
        await r.body?.cancel();
        return r.status;
      } catch {
        return 0;
      }
    };
    const untilHealthy = async (i: number, timeoutMs = 60_000) => {
      const until = Date.now() + timeoutMs;
      while ((await health(i)) !== 200) {
        if (Date.now() > until) throw new Error(`instance ${i} not healthy:\n${instances[i]!.run.output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    for (let i = 0; i < n; i++) await untilHealthy(i);
    const mqttPort = await freePort();
    const apiPort = await freePort();
    const cfg = haproxyConfig({
      bind: '127.0.0.1',
      mqttPort,
      apiPort,
      checkEveryMs: 500,
      maxConnections: 1000,
      // server instances: the bridge's frontend and backend, as `haproxy-config --server` makes them
      server: opts.mqttTo === 'bridge',
      instances: instances.map((p, i) => ({
        name: `flm${i + 1}`,
        host: '127.0.0.1',
        mqtt: p.bridge ?? p.mqttPort,
        api: p.api,
      })),
    });
    const file = join(dir.path, 'haproxy.cfg');
    await writeFile(file, cfg);
    haproxy = start('haproxy', ['-db', '-f', file]);
    await untilListening(mqttPort, haproxy.output);
    // the balancer takes an instance once two checks passed
    await new Promise((r) => setTimeout(r, 1500));
    const proxy = haproxy;
    return {
      redis,
      instances,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      haproxy: proxy,
      kill: (i) => instances[i]!.run.proc.kill('SIGKILL'),
      restart: async (i) => {
        const old = instances[i]!;
        await old.run.exited;
        const again = await startPipeline(envOf(i), old);
        instances[i] = { ...again, ...(old.bridge ? { bridge: old.bridge } : {}) };
        await untilHealthy(i);
      },
      health,
      untilHealthy,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
