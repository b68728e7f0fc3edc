/**
 * Upload drain (`npm run bench`): a backlog of `DAYS` days x 64 sensors at 1 Hz,
 * queued on disk, drained by the Uploader (filters off: they would drop readings) into the
 * Flukso test server, against a plain loop of the same HTTP POSTs (same client, same batch
 * size, same bodies, same number of sensors in flight, no queue) in the same run.
 *
 * The whole backlog is queued first (one queue folder per slice of 8 sensors). Then plain loop
 * and drain take turns slice by slice, each timed on its own, and the ratio is the sum of the
 * drain times over the sum of the plain ones: on a machine shared with other work, a burst of
 * load lands on both alike instead of on whichever phase ran then (a single plain phase and a
 * single drain phase gave ratios from 0.8x to 2x for the same code). A short warm-up on other
 * timestamps comes first, untimed.
 *
 * The test server runs in a child process (`keepReadings: false`, so it holds counts only), so
 * the memory figures are the drain's own. A queued batch never spans two segment files, so the
 * drain makes a few more, shorter POSTs than the plain loop (38 976 against 38 720 at 7 days).
 * Goal: queue drain within 1.5x of the plain loop, memory flat (no growth with the backlog).
 *
 * The full size is 7 days (38.7 M readings, 774 MB of queue, about 2 minutes here); the
 * default is the documented fraction of 1 day (1/7, 5.5 M readings, about 15 s);
 * FLM_BENCH_DAYS=7 runs all of it.
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
import { fmt, goal, verdict } from './support';
import { DEVICE_ID, DEVICE_KEY } from '../test/support/device';

const SENSORS = 64;
const FULL_DAYS = 7;
const DAYS = Number(process.env.FLM_BENCH_DAYS ?? 1);
const SECONDS = Math.round(DAYS * 86_400);
const TOTAL = SENSORS * SECONDS;
const BATCH = DEFAULT_BATCH_SIZE;
/** sensors sent to at the same time: the Uploader's default (4), or FLM_BENCH_IN_FLIGHT in both runs */
const IN_FLIGHT = Number(process.env.FLM_BENCH_IN_FLIGHT ?? 4);
/** the sensors are split in this many slices; plain loop and drain take turns slice by slice */
const SLICES = 8;
const T0 = 1_750_000_000;
const DEVICE = { id: DEVICE_ID, key: DEVICE_KEY };
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
  private constructor(
    private readonly proc: ChildProcess,
    readonly url: string,
  ) {}

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

/** Memory sampled every 50 ms while switched on (the drain phases), against the figures before the first. */
class MemoryWatch {
  rss0 = 0;
  heap0 = 0;
  rssPeak = 0;
  heapPeak = 0;
  private timer: NodeJS.Timeout | undefined;

  on(): void {
    if (!this.rss0) {
      gc();
      const m = process.memoryUsage();
      this.rss0 = this.rssPeak = m.rss;
      this.heap0 = this.heapPeak = m.heapUsed;
    }
    this.timer = setInterval(() => this.sample(), 50);
  }

  off(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    const m = process.memoryUsage();
    this.rssPeak = Math.max(this.rssPeak, m.rss);
    this.heapPeak = Math.max(this.heapPeak, m.heapUsed);
  }
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

interface Timed<T> {
  value: T;
  ms: number;
  cpuMs: number;
}

/** Wall time and this process's CPU time of `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const value = await fn();
  const cpu = process.cpuUsage(cpu0);
  return { value, ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The plain loop: `IN_FLIGHT` workers, each POSTing one sensor's readings batch after batch. */
async function plainLoop(url: string, sensors: readonly number[], seconds = SECONDS, from = 0): Promise<number> {
  const client = new UploadClient({ baseUrl: url, deviceKey: DEVICE.key, maxSockets: IN_FLIGHT });
  let next = 0;
  let posts = 0;
  const worker = async () => {
    for (let k = next++; k < sensors.length; k = next++) {
      const s = sensors[k]!;
      for (let i = from; i < from + seconds; i += BATCH) {
        const batch: Reading[] = [];
        for (let j = i; j < Math.min(from + seconds, i + BATCH); j++) batch.push(readingAt(s, j));
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

/** Fill a queue with the backlog of `sensors`, a day of one sensor per write. */
async function fill(queue: UploadQueue, sensors: readonly number[], seconds = SECONDS, from = 0): Promise<void> {
  const CHUNK = 86_400;
  for (const s of sensors) {
    for (let i = from; i < from + seconds; i += CHUNK) {
      const rs: Reading[] = [];
      for (let j = i; j < Math.min(from + seconds, i + CHUNK); j++) rs.push(readingAt(s, j));
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
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  console.log(
    `backlog: ${DAYS} day(s) x ${SENSORS} sensors at 1 Hz = ${TOTAL} readings` +
      (DAYS < FULL_DAYS
        ? ` (scale ${fmt(DAYS / FULL_DAYS, 3)} of the full ${FULL_DAYS} days = ${SENSORS * FULL_DAYS * 86_400}; FLM_BENCH_DAYS=${FULL_DAYS} for all of it)`
        : ''),
  );
  console.log(
    `batch ${BATCH} readings per POST, ${IN_FLIGHT} sensors in flight, filters off; test server in a child process; ${SLICES} slices of ${SENSORS / SLICES} sensors, plain loop and drain taking turns`,
  );
  const server = await Child.start();
  const dir = await mkdtemp(join(tmpdir(), 'flm-bench-upload-'));
  const slices = Array.from({ length: SLICES }, (_, k) =>
    Array.from({ length: SENSORS / SLICES }, (_, i) => k * (SENSORS / SLICES) + i),
  );
  const sliceDir = (k: number) => join(dir, `upload-${k}`);
  try {
    // The whole backlog goes on disk first: every drain phase runs with all of it queued.
    const tf = process.hrtime.bigint();
    for (const [k, sensors] of slices.entries()) {
      const q = await UploadQueue.open({ dir: sliceDir(k) });
      await fill(q, sensors);
      await q.close();
    }
    const fillMs = Number(process.hrtime.bigint() - tf) / 1e6;

    // Warm up the client, the server and the queue code on readings before the backlog's.
    const WARM = 20 * BATCH;
    await plainLoop(server.url, [0, 1, 2, 3], WARM, -2 * WARM);
    const warm = await UploadQueue.open({ dir: join(dir, 'warm-up') });
    await fill(warm, [0, 1, 2, 3], WARM, -WARM);
    await drain(warm, server.url);
    await warm.close();

    // Plain loop and drain take turns, a slice of sensors at a time, so a burst of other work
    // on the machine falls on both alike rather than on whichever ran then.
    const mem = new MemoryWatch();
    const plain: Array<Timed<number>> = [];
    const drained: Array<Timed<number>> = [];
    for (const [k, sensors] of slices.entries()) {
      const want = sensors.length * SECONDS;
      const s0 = await server.stats();
      plain.push(await timed(() => plainLoop(server.url, sensors)));
      const s1 = await server.stats();
      const plainGot = s1.stored + s1.duplicates - (s0.stored + s0.duplicates);
      if (plainGot !== want) throw new Error(`plain loop, slice ${k}: server got ${plainGot} of ${want}`);
      const q = await UploadQueue.open({ dir: sliceDir(k) });
      mem.on();
      drained.push(await timed(() => drain(q, server.url)));
      mem.off();
      await q.close();
      const s2 = await server.stats();
      const drainGot = s2.stored + s2.duplicates - (s1.stored + s1.duplicates);
      if (drainGot !== want) throw new Error(`queue drain, slice ${k}: server got ${drainGot} of ${want}`);
    }
    gc();
    const heapEnd = process.memoryUsage().heapUsed;
    const stats = await server.stats();
    const bad = Object.keys(stats.byStatus).filter((k) => k !== '200');
    if (bad.length) throw new Error(`server answered ${JSON.stringify(stats.byStatus)}`);

    const plainMs = sum(plain.map((t) => t.ms));
    const drainMs = sum(drained.map((t) => t.ms));
    const ratios = slices.map((_, k) => drained[k]!.ms / plain[k]!.ms);
    console.log(
      `queue filled in ${fmt(fillMs / 1000, 1)} s (${fmt(TOTAL / (fillMs / 1000), 0)} readings/s, fsynced), ${mb(TOTAL * 20)} MB on disk`,
    );
    console.log(
      `plain loop of POSTs: ${fmt(TOTAL / (plainMs / 1000), 0)} readings/s (${sum(plain.map((t) => t.value))} POSTs in ${fmt(plainMs / 1000, 1)} s)`,
    );
    console.log(
      `queue drain (Uploader): ${fmt(TOTAL / (drainMs / 1000), 0)} readings/s (${sum(drained.map((t) => t.value))} POSTs in ${fmt(drainMs / 1000, 1)} s)`,
    );
    const ratio = drainMs / plainMs;
    goal('ratio drain time / plain loop time', ratio, '<=', 1.5, {
      unit: 'x',
      note: `slices ${fmt(Math.min(...ratios))}x .. ${fmt(Math.max(...ratios))}x`,
    });
    // CPU time moves less than wall time when other work shares the machine; the goal is the wall-time ratio.
    const plainCpu = sum(plain.map((t) => t.cpuMs));
    const drainCpu = sum(drained.map((t) => t.cpuMs));
    console.log(
      `CPU time of this process: plain loop ${fmt(plainCpu / 1000, 1)} s, queue drain ${fmt(drainCpu / 1000, 1)} s (${fmt(drainCpu / plainCpu)}x)`,
    );
    console.log(
      `queue drain memory: RSS ${mb(mem.rss0)} -> peak ${mb(mem.rssPeak)} MB (+${mb(mem.rssPeak - mem.rss0)}), heap ${mb(mem.heap0)} -> peak ${mb(mem.heapPeak)} -> after ${mb(heapEnd)} MB`,
    );
    const heapGrowth = heapEnd - mem.heap0;
    const flat = heapGrowth < 16 * 1048576 && mem.rssPeak - mem.rss0 < 128 * 1048576;
    verdict(
      `memory during the drain of ${mb(TOTAL * 20)} MB of queue: heap growth ${mb(heapGrowth)} MB, peak RSS growth ${mb(mem.rssPeak - mem.rss0)} MB (goal flat: < 16 MB heap, < 128 MB RSS)`,
      flat,
    );
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
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
