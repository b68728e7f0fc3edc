/**
 * Cost of clustering (`npm run bench`, docs/cluster.md#known-limits): MQTT messages per second and p99 latency
 * through one broker alone, one broker on Redis, and three brokers on Redis behind HAProxy, in
 * the same run. Each broker is its own process (bench/cluster-broker.ts), as flm-broker runs it.
 * Throughput: PUBLISHERS publish MESSAGES QoS 0 messages as fast as they can, SUBSCRIBERS each
 * receive all of them; the rate counts deliveries. Latency: the same clients at a fixed
 * RATE for a few seconds, send to receive, in this process (one clock).
 * Goal: a clustered single instance keeps at least half the throughput of one alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import mqtt from 'mqtt';
import { haproxyConfig } from '../scripts/haproxy-config';
import { startRedis } from '../test/support/redis';
import { freePort, tempDir } from '../test/support/nodered';
import { untilListening } from '../test/support/net';
import { fmt, goal } from './support';

const MESSAGES = Number(process.env.FLM_BENCH_CLUSTER_MESSAGES ?? 20_000);
/** FLM_BENCH_CLUSTER_QOS=1: the throughput phase with QoS 1, whose PUBACK waits for Redis when clustered */
const QOS = process.env.FLM_BENCH_CLUSTER_QOS === '1' ? 1 : 0;
const PUBLISHERS = 4;
const SUBSCRIBERS = 4;
/** messages per second, all publishers together, in the latency phase */
const RATE = 1000;
const LATENCY_SECONDS = 4;
const ROUNDS = Number(process.env.FLM_BENCH_ROUNDS ?? 3);

interface Broker {
  proc: ChildProcess;
  mqtt: number;
  api: number;
}

function startBroker(redisUrl?: string): Promise<Broker> {
  const proc = spawn(process.execPath, [join(__dirname, 'cluster-broker.js')], {
    env: { ...process.env, ...(redisUrl ? { BENCH_REDIS_URL: redisUrl } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const { mqtt: m, api } = JSON.parse(line) as { mqtt: number; api: number };
        resolve({ proc, mqtt: m, api });
      }
    });
    proc.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
}

async function stopBroker(b: Broker): Promise<void> {
  if (b.proc.exitCode !== null) return;
  const exited = new Promise((r) => b.proc.once('exit', r));
  b.proc.kill('SIGTERM');
  const t = setTimeout(() => b.proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** CPU seconds (user + system) a process used so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

interface Result {
  /** CPU time of the brokers and Redis per delivered message in the throughput phase, µs */
  cpuPerMessage: number;
  perSecond: number;
  delivered: number;
  p50: number;
  p99: number;
}

async function measure(url: string, prefix: string, pids: Array<number | undefined>): Promise<Result> {
  const cpu = () => pids.reduce<number>((n, pid) => n + cpuSeconds(pid), 0);
  const opts = { reconnectPeriod: 0 };
  const subs = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => mqtt.connectAsync(url, opts)));
  const pubs = await Promise.all(Array.from({ length: PUBLISHERS }, () => mqtt.connectAsync(url, opts)));
  let got = 0;
  let closed = 0;
  for (const c of [...subs, ...pubs]) c.on('close', () => closed++);
  let latencies: number[] | null = null;
  for (const s of subs) {
    s.on('message', (_t, p) => {
      got++;
      if (latencies) latencies.push(performance.now() - Number(p.toString()));
    });
    await s.subscribeAsync(`${prefix}/#`, { qos: QOS });
  }
  // Throughput: everything at once, each publisher waiting for its socket every 200 messages.
  const each = Math.floor(MESSAGES / PUBLISHERS);
  const want = each * PUBLISHERS * SUBSCRIBERS;
  const t0 = performance.now();
  const cpu0 = cpu();
  await Promise.all(
    pubs.map(async (c, p) => {
      for (let i = 0; i < each; i++) {
        const sent = c.publishAsync(`${prefix}/${p}`, '0', { qos: QOS });
        if (i % 200 === 199) await sent;
      }
    }),
  );
  const until = Date.now() + 120_000;
  while (got < want && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - t0) / 1000;
  const delivered = got;
  const cpuUsed = cpu() - cpu0;
  if (closed) console.log(`${closed} clients were disconnected during the run`);

  // Latency at a fixed rate: one tick every 10 ms, RATE/100 messages per tick over the publishers.
  await new Promise((r) => setTimeout(r, 500));
  latencies = [];
  const perTick = RATE / 100;
  for (let tick = 0; tick < LATENCY_SECONDS * 100; tick++) {
    const due = performance.now() + 10;
    for (let i = 0; i < perTick; i++)
      pubs[i % PUBLISHERS]!.publish(`${prefix}/${i % PUBLISHERS}`, String(performance.now()));
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  await Promise.all([...subs, ...pubs].map((c) => c.endAsync(true)));
  return {
    cpuPerMessage: (cpuUsed * 1e6) / Math.max(1, delivered),
    perSecond: delivered / seconds,
    delivered: delivered / want,
    p50: at(0.5),
    p99: at(0.99),
  };
}

function report(label: string, r: Result): void {
  console.log(
    `${label.padEnd(28)} ${fmt(r.perSecond, 0).padStart(8)} msg/s delivered (${fmt(100 * r.delivered, 1)}% of ${MESSAGES * SUBSCRIBERS}), ${fmt(r.cpuPerMessage, 1)} µs CPU each   latency at ${RATE}/s: p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms`,
  );
}

async function main(): Promise<void> {
  console.log(
    `${PUBLISHERS} publishers, ${SUBSCRIBERS} subscribers of every message, QoS ${QOS}, median of ${ROUNDS} rounds`,
  );
  const redis = await startRedis();
  const dir = await tempDir('flm-bench-haproxy-');
  const brokers: Broker[] = [];
  let haproxy: ChildProcess | undefined;
  try {
    const alone = await startBroker();
    const one = await startBroker(redis.url);
    const three = [await startBroker(redis.url), await startBroker(redis.url), await startBroker(redis.url)];
    brokers.push(alone, one, ...three);
    const mqttPort = await freePort();
    const file = join(dir.path, 'haproxy.cfg');
    await writeFile(
      file,
      haproxyConfig({
        bind: '127.0.0.1',
        mqttPort,
        apiPort: await freePort(),
        checkEveryMs: 500,
        maxConnections: 1000,
        instances: three.map((b, i) => ({ name: `b${i}`, host: '127.0.0.1', mqtt: b.mqtt, api: b.api })),
      }),
    );
    haproxy = spawn('haproxy', ['-db', '-f', file], {
      stdio: ['ignore', 'ignore', process.env.FLM_BENCH_DEBUG ? 'inherit' : 'ignore'],
    });
    await untilListening(mqttPort);
    await new Promise((r) => setTimeout(r, 1500)); // two good checks per instance
    const setups = [
      { label: '1 instance, no Redis', url: `mqtt://127.0.0.1:${alone.mqtt}`, pids: [alone.proc.pid] },
      { label: '1 instance on Redis', url: `mqtt://127.0.0.1:${one.mqtt}`, pids: [one.proc.pid, redis.pid] },
      {
        label: '3 instances on Redis, HAProxy',
        url: `mqtt://127.0.0.1:${mqttPort}`,
        pids: [...three.map((b) => b.proc.pid), redis.pid, haproxy?.pid],
      },
    ].map((s) => ({ ...s, runs: [] as Result[] }));
    // Interleaved rounds: a neighbour's load on a shared machine hits every setup alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [k, s] of setups.entries()) s.runs.push(await measure(s.url, `b${round}${k}`, s.pids));
    }
    const med = setups.map((s) => {
      const m: Result = {
        cpuPerMessage: median(s.runs.map((r) => r.cpuPerMessage)),
        perSecond: median(s.runs.map((r) => r.perSecond)),
        delivered: Math.min(...s.runs.map((r) => r.delivered)),
        p50: median(s.runs.map((r) => r.p50)),
        p99: median(s.runs.map((r) => r.p99)),
      };
      report(s.label, m);
      return m;
    });
    const [a, r1, r3] = med as [Result, Result, Result];
    const ratio = r1.perSecond / a.perSecond;
    console.log(
      `clustered/alone: throughput ${fmt(ratio)}, p99 ${fmt(r1.p99 / a.p99)}x, CPU per message ${fmt(r1.cpuPerMessage / a.cpuPerMessage)}x (broker + Redis); 3 behind HAProxy/alone: throughput ${fmt(r3.perSecond / a.perSecond)}`,
    );
    console.log(
      `(${cpus().length} cores for the brokers, Redis, HAProxy and the load generator together: ` +
        'three instances cannot run in parallel here, so this shows the cost per message, not how far it scales)',
    );
    goal('clustered single instance throughput / unclustered', ratio, '>=', 0.5);
  } finally {
    haproxy?.kill('SIGTERM');
    await Promise.all(brokers.map(stopBroker));
    await redis.remove();
    await dir.remove();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
