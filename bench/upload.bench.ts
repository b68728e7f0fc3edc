/**
 * Upload drain (issue 5, `npm run bench`): a backlog of `DAYS` days x 64 sensors at 1 Hz,
 * queued on disk, drained by the Uploader (filters off: they would drop readings) into the
 * Flukso test server, against a plain loop of the same HTTP POSTs (same client, same batch
 * size, same bodies, same number of sensors in flight, no queue) in the same run.
 *
 * The test server runs in a child process (`keepReadings: false`, so it holds counts only), so
 * the memory figures are the drain's own. A queued batch never spans two 1 MiB segment files,
 * so the drain makes a few more, shorter POSTs than the plain loop (38 976 against 38 720 at 7 days). Goal: queue drain within 1.5x of the plain loop,
 * memory flat (no growth with the backlog).
 *
 * The full size is 7 days (38.7 M readings, 774 MB of queue); on a 2-core machine that takes
 * about 95 s here (fill 18 s, plain loop 17 s, drain 58 s), so the default is the documented
 * fraction of 1 day (1/7, 5.5 M readings, about 15 s); FLM_BENCH_DAYS=7 runs all of it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FluksoTestServer } from '../test/support/flukso-server';
import { UploadQueue } from '../core/upload/queue';
import { UploadClient } from '../core/upload/client';
import { Uploader, DEFAULT_BATCH_SIZE } from '../core/upload/uploader';
import type { Reading } from '../core/upload/reading';
import { fmt } from './support';

const SENSORS = 64;
const FULL_DAYS = 7;
const DAYS = Number(process.env.FLM_BENCH_DAYS ?? 1);
const SECONDS = Math.round(DAYS * 86_400);
const TOTAL = SENSORS * SECONDS;
const BATCH = DEFAULT_BATCH_SIZE;
/** sensors sent to at the same time: the Uploader's default (4), or FLM_BENCH_IN_FLIGHT in both runs */
const IN_FLIGHT = Number(process.env.FLM_BENCH_IN_FLIGHT ?? 4);
const T0 = 1_750_000_000;
const DEVICE = { id: '0123456789abcdef0123456789abcdef', key: 'fedcba9876543210fedcba9876543210' };
const SIDS = Array.from({ length: SENSORS }, (_, i) => (i + 1).toString(16).padStart(32, 'b'));
/** the same readings in both runs: one a second, a counter that climbs */
const readingAt = (s: number, i: number): Reading => [T0 + i, 1_000_000 * s + i * 3];

interface ServerStats {
  stored: number;
  duplicates: number;
  requests: number;
  byStatus: Record<number, number>;
}

// ---- the child: the test server ---------------------------------------------------------
async function serve(): Promise<void> {
  const server = await FluksoTestServer.start({ devices: [{ ...DEVICE, sensors: SIDS }], keepReadings: false });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send!({ stats: { ...server.stats } });
    if (m.cmd === 'stop') void server.close().then(() => process.exit(0));
  });
  process.send!({ port: server.port });
}

// ---- the parent -------------------------------------------------------------------------
class Child {
  private constructor(private readonly proc: ChildProcess, readonly url: string) {}

  static async start(): Promise<Child> {
    const proc = fork(__filename, ['--server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await new Promise<number>((resolve, reject) => {
      proc.once('message', (m: { port: number }) => resolve(m.port));
      proc.once('exit', (code) => reject(new Error(`test server exited ${code}`)));
    });
    return new Child(proc, `http://127.0.0.1:${port}/`);
  }

  stats(): Promise<ServerStats> {
    return new Promise((resolve) => {
      const on = (m: { stats?: ServerStats }) => {
        if (!m.stats) return;
        this.proc.off('message', on);
        resolve(m.stats);
      };
      this.proc.on('message', on);
      this.proc.send({ cmd: 'stats' });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.send({ cmd: 'stop' });
    });
  }
}

/** Peak RSS and heap while `fn` runs, sampled every 50 ms, against the figures just before; and this process's CPU time. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number; rss0: number; rssPeak: number; heap0: number; heapPeak: number; heapEnd: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const m0 = process.memoryUsage();
  let rssPeak = m0.rss;
  let heapPeak = m0.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  }, 50);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  const m1 = process.memoryUsage();
  rssPeak = Math.max(rssPeak, m1.rss);
  heapPeak = Math.max(heapPeak, m1.heapUsed);
  (globalThis as { gc?: () => void }).gc?.();
  return { value, ms, cpuMs: (cpu.user + cpu.system) / 1000, rss0: m0.rss, rssPeak, heap0: m0.heapUsed, heapPeak, heapEnd: process.memoryUsage().heapUsed };
}

/** The plain loop: `IN_FLIGHT` workers, each POSTing one sensor's readings batch after batch. */
async function plainLoop(url: string): Promise<number> {
  const client = new UploadClient({ baseUrl: url, deviceKey: DEVICE.key, maxSockets: IN_FLIGHT });
  let next = 0;
  let posts = 0;
  const worker = async () => {
    for (let s = next++; s < SENSORS; s = next++) {
      for (let i = 0; i < SECONDS; i += BATCH) {
        const batch: Reading[] = [];
        for (let j = i; j < Math.min(SECONDS, i + BATCH); j++) batch.push(readingAt(s, j));
        const r = await client.postMeasurements(SIDS[s]!, batch);
        if (r.kind !== 'ok') throw new Error(`plain loop: ${JSON.stringify(r)}`);
        posts++;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  client.close();
  return posts;
}

/** Fill the queue with the backlog, a day of one sensor per write. */
async function fill(queue: UploadQueue): Promise<void> {
  const CHUNK = 86_400;
  for (let s = 0; s < SENSORS; s++) {
    for (let i = 0; i < SECONDS; i += CHUNK) {
      const rs: Reading[] = [];
      for (let j = i; j < Math.min(SECONDS, i + CHUNK); j++) rs.push(readingAt(s, j));
      const r = await queue.appendMany(SIDS[s]!, rs);
      if (r.queued !== rs.length) throw new Error(`fill: ${JSON.stringify(r)}`);
    }
  }
}

async function drain(queue: UploadQueue, url: string): Promise<number> {
  const client = new UploadClient({ baseUrl: url, deviceKey: DEVICE.key, maxSockets: IN_FLIGHT });
  let posts = 0;
  let failure = '';
  const up = new Uploader({
    queue,
    client,
    filters: false,
    batchSize: BATCH,
    concurrency: IN_FLIGHT,
    intervalMs: 3_600_000,
    onEvent: (e) => {
      if (e.kind === 'posted') posts++;
      else failure ||= JSON.stringify(e);
    },
  });
  up.start();
  for (let i = 0; i < 100 && up.state().depth > 0 && !failure; i++) await up.idle();
  await up.stop();
  client.close();
  if (failure) throw new Error(`drain: ${failure}`);
  const left = up.state().depth;
  if (left) throw new Error(`drain: ${left} readings left in the queue`);
  return posts;
}

const mb = (b: number) => fmt(b / 1048576, 1);

async function main(): Promise<void> {
  console.log(`backlog: ${DAYS} day(s) x ${SENSORS} sensors at 1 Hz = ${TOTAL} readings` +
    (DAYS < FULL_DAYS ? ` (scale ${fmt(DAYS / FULL_DAYS, 3)} of the full ${FULL_DAYS} days = ${SENSORS * FULL_DAYS * 86_400}; FLM_BENCH_DAYS=${FULL_DAYS} for all of it)` : ''));
  console.log(`batch ${BATCH} readings per POST, ${IN_FLIGHT} sensors in flight, filters off; test server in a child process`);
  const server = await Child.start();
  const dir = await mkdtemp(join(tmpdir(), 'flm-bench-upload-'));
  try {
    // The plain loop runs first (it also warms the server and the client code), then the queue
    // is filled and drained, then the plain loop runs again: the baseline is the faster of the
    // two, so a burst of other work on the machine during one of them does not flatter the drain.
    const plainOnce = async () => {
      const before = await server.stats();
      const m = await measured(() => plainLoop(server.url));
      const after = await server.stats();
      const got = after.stored + after.duplicates - (before.stored + before.duplicates);
      if (got !== TOTAL) throw new Error(`plain loop: server got ${got} of ${TOTAL}`);
      return m;
    };
    const plainFirst = await plainOnce();
    const s1 = await server.stats();

    const queue = await UploadQueue.open({ dir: join(dir, 'upload') });
    const tf = process.hrtime.bigint();
    await fill(queue);
    const fillMs = Number(process.hrtime.bigint() - tf) / 1e6;
    const drained = await measured(() => drain(queue, server.url));
    await queue.close();
    const s2 = await server.stats();
    const drainGot = s2.stored + s2.duplicates - (s1.stored + s1.duplicates);
    if (drainGot !== TOTAL) throw new Error(`queue drain: server got ${drainGot} of ${TOTAL}`);
    const plainAgain = await plainOnce();
    const plain = plainAgain.ms < plainFirst.ms ? plainAgain : plainFirst;
    const bad = Object.keys((await server.stats()).byStatus).filter((k) => k !== '200');
    if (bad.length) throw new Error(`server answered ${JSON.stringify((await server.stats()).byStatus)}`);

    const plainRate = TOTAL / (plain.ms / 1000);
    const drainRate = TOTAL / (drained.ms / 1000);
    console.log(`queue filled in ${fmt(fillMs / 1000, 1)} s (${fmt(TOTAL / (fillMs / 1000), 0)} readings/s, fsynced), ${mb(TOTAL * 20)} MB on disk`);
    console.log(`plain loop of POSTs: ${fmt(plainRate, 0)} readings/s (${plain.value} POSTs in ${fmt(plain.ms / 1000, 1)} s; before the drain ${fmt(plainFirst.ms / 1000, 1)} s, after it ${fmt(plainAgain.ms / 1000, 1)} s)`);
    console.log(`queue drain (Uploader): ${fmt(drainRate, 0)} readings/s (${drained.value} POSTs in ${fmt(drained.ms / 1000, 1)} s)`);
    const ratio = drained.ms / plain.ms;
    console.log(`ratio drain time / faster plain loop time: ${fmt(ratio)}x (goal <= 1.50x) ${ratio <= 1.5 ? 'MET' : 'NOT MET'}`);
    // CPU time moves less than wall time when other work shares the machine; the goal is the wall-time ratio.
    console.log(`CPU time of this process: plain loop ${fmt(plain.cpuMs / 1000, 1)} s, queue drain ${fmt(drained.cpuMs / 1000, 1)} s (${fmt(drained.cpuMs / plain.cpuMs)}x)`);
    for (const [name, m] of [['plain loop', plain], ['queue drain', drained]] as const) {
      console.log(`${name} memory: RSS ${mb(m.rss0)} -> peak ${mb(m.rssPeak)} MB (+${mb(m.rssPeak - m.rss0)}), heap ${mb(m.heap0)} -> peak ${mb(m.heapPeak)} -> after ${mb(m.heapEnd)} MB`);
    }
    const heapGrowth = drained.heapEnd - drained.heap0;
    const flat = heapGrowth < 16 * 1048576 && drained.rssPeak - drained.rss0 < 128 * 1048576;
    console.log(`memory during the drain of ${mb(TOTAL * 20)} MB of queue: heap growth ${mb(heapGrowth)} MB, peak RSS growth ${mb(drained.rssPeak - drained.rss0)} MB (goal flat: < 16 MB heap, < 128 MB RSS) ${flat ? 'MET' : 'NOT MET'}`);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--server')) {
  serve().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().then(() => process.exit(0), (err) => {
    console.error(err);
    process.exit(1);
  });
}
