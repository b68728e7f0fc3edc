/**
 * Server ingestion (`npm run bench`, issue #17 item 4): how many FLM uploads one core of
 * `FLM_MODE=server` takes, for HTTP POSTs and for TMPO blocks over the MQTT bridge, against a
 * baseline process that only parses and checks the digest of the same requests
 * (bench/server-baseline.ts), both measured in this run by the CPU time the process used
 * (/proc/<pid>/stat), so the figure is per core whatever the machine's other load.
 *
 * Goal: one core takes the traffic of 10,000 FLMs with 10x headroom. An FLM makes one POST per
 * sensor every 5 minutes (4 sensors: 133 POSTs/s for 10,000) and one level-8 block per sensor
 * every 256 s (156 blocks/s); with 10x: ≥ 1,333 POSTs and ≥ 1,563 blocks per CPU second. Memory
 * flat: measured after a full garbage collection (`/health?gc=1`, the server runs with
 * --expose-gc), the server's RSS after the load within 128 MB of its RSS after the warm-up,
 * growing less than 32 MB over the second half of the load, and its heap (what its objects
 * keep) less than 8 MB: it levels off instead of growing with the load.
 *
 * Load (FLM_BENCH_SCALE multiplies it): 200 FLMs x 25 rounds of 4 POSTs of 10 readings (20,000
 * POSTs) on HTTP, 100 FLMs x 40 windows x 4 sensors of level-8 blocks with 25 samples (16,000
 * blocks) on the bridge, all prepared before the clock starts. The server defers writing readings
 * into blocks (its store checkpoints); the CPU it spends on that afterwards is counted too (waiting
 * for `pending` in /health to reach 0), and the figure before it is printed alongside.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { repoRoot } from '../test/support/paths';
import { testPki } from '../test/support/tls';
import { runFlm } from '../test/support/cli';
import { fleetIdentity } from '../test/support/flm-emulator/fleet';
import {
  bridgeCaFile,
  dataDirOf,
  serverPlace,
  startServerMode,
  untilHealthy,
} from '../test/support/flm-emulator/server-mode';
import {
  buildBlocks,
  buildRounds,
  driveBridge,
  driveHttp,
  READINGS_PER_POST,
  SAMPLES_PER_BLOCK,
  type Block,
  type LoadDevice,
  type Round,
} from './server-load';
import { cpuSeconds, untilIdle } from './proc-stats';
import { fmt, goal, verdict } from './support';

const SCALE = Number(process.env.FLM_BENCH_SCALE ?? 1);
const HTTP_DEVICES = Math.round(200 * SCALE);
const HTTP_ROUNDS = 25;
const BRIDGE_DEVICES = Math.round(100 * SCALE);
const BLOCK_WINDOWS = 40;
const CONCURRENCY = 32;
const POSTS_GOAL = Math.ceil(((10_000 * 4) / 300) * 10);
const BLOCKS_GOAL = Math.ceil(((10_000 * 4) / 256) * 10);
const mb = (b: number) => fmt(b / 1048576, 1);

interface Load {
  httpDevices: LoadDevice[];
  bridgeDevices: LoadDevice[];
  warmRounds: Round[];
  rounds: Round[];
  warmBlocks: Block[][];
  blocks: Block[][];
}

function prepare(host: string): Load {
  const all = Array.from({ length: HTTP_DEVICES + BRIDGE_DEVICES }, (_, n) => fleetIdentity('bench', n));
  const httpDevices = all.slice(0, HTTP_DEVICES).map((d) => ({ did: d.did, key: d.key, sids: d.sids }));
  const bridgeDevices = all.slice(HTTP_DEVICES).map((d) => ({ did: d.did, key: d.key, sids: d.sids }));
  // The load ends about now, as live FLMs' would (the HTTP rounds cover the last ~2 h, the
  // blocks the last ~3 h): readings days old would land in windows the server has already
  // compacted, which is the catching-up case, not the steady traffic this bench sizes.
  const now = Math.floor(Date.now() / 1000);
  const httpT0 = now - (HTTP_ROUNDS + 1) * 300;
  const blockT0 = Math.floor((now - (BLOCK_WINDOWS + 1) * 256) / 256) * 256;
  return {
    httpDevices,
    bridgeDevices,
    warmRounds: buildRounds(httpDevices.slice(0, 20), 1, httpT0 - 3600, host),
    rounds: buildRounds(httpDevices, HTTP_ROUNDS, httpT0, host),
    warmBlocks: buildBlocks(bridgeDevices.slice(0, 10), 1, blockT0 - 4096),
    blocks: buildBlocks(bridgeDevices, BLOCK_WINDOWS, blockT0),
  };
}

interface Figures {
  posts: number;
  /** CPU seconds for the requests and the store work they left (writing readings into blocks) */
  postCpu: number;
  /** CPU seconds until the requests were answered and the process was idle the first time */
  postIntakeCpu: number;
  blockIntakeCpu: number;
  postWall: number;
  blocks: number;
  blockCpu: number;
  blockWall: number;
  statuses: Map<number, number>;
}

/**
 * Wait until the process has finished what it was given: its CPU idle and, for the server, its
 * store's deferred work (`pending` in /health: readings taken but not yet written into blocks)
 * done, so that work is counted too.
 */
async function settle(pid: number, healthPort: number | undefined): Promise<void> {
  const end = Date.now() + 180_000;
  for (;;) {
    await untilIdle(pid);
    if (healthPort === undefined) return;
    const h = (await fetch(`http://127.0.0.1:${healthPort}/health`).then((r) => r.json())) as {
      store?: { pending?: number };
    };
    if (!h.store?.pending || Date.now() > end) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Run both loads against a process; CPU seconds it spent on each (`healthPort`: the server's). */
async function measure(
  pid: number,
  httpPort: number,
  bridgeUrl: string,
  caFile: string,
  load: Load,
  rounds: Round[],
  blocks: Block[][],
  healthPort?: number,
): Promise<Figures> {
  let c0 = cpuSeconds(pid);
  let w0 = Date.now();
  const h = await driveHttp(httpPort, rounds, CONCURRENCY);
  await untilIdle(pid);
  const postIntakeCpu = cpuSeconds(pid) - c0;
  await settle(pid, healthPort);
  const postCpu = cpuSeconds(pid) - c0;
  const postWall = (Date.now() - w0) / 1000;
  c0 = cpuSeconds(pid);
  w0 = Date.now();
  const b = await driveBridge(bridgeUrl, caFile, load.bridgeDevices.slice(0, blocks.length), blocks);
  await untilIdle(pid);
  const blockIntakeCpu = cpuSeconds(pid) - c0;
  await settle(pid, healthPort);
  const blockCpu = cpuSeconds(pid) - c0;
  const blockWall = (Date.now() - w0) / 1000;
  await b.close();
  return {
    posts: h.ok,
    postCpu,
    postIntakeCpu,
    blockIntakeCpu,
    postWall,
    blocks: blocks.reduce((n, b) => n + b.length, 0),
    blockCpu,
    blockWall,
    statuses: h.statuses,
  };
}

function sum(a: Figures, b: Figures): Figures {
  const statuses = new Map(a.statuses);
  for (const [k, n] of b.statuses) statuses.set(k, (statuses.get(k) ?? 0) + n);
  return {
    posts: a.posts + b.posts,
    postCpu: a.postCpu + b.postCpu,
    postIntakeCpu: a.postIntakeCpu + b.postIntakeCpu,
    postWall: a.postWall + b.postWall,
    blocks: a.blocks + b.blocks,
    blockCpu: a.blockCpu + b.blockCpu,
    blockIntakeCpu: a.blockIntakeCpu + b.blockIntakeCpu,
    blockWall: a.blockWall + b.blockWall,
    statuses,
  };
}

function report(name: string, f: Figures): void {
  console.log(
    `${name}: ${f.posts} POSTs (${f.posts * READINGS_PER_POST} readings) in ${fmt(f.postWall)} s, ${fmt(f.postCpu)} CPU s -> ` +
      `${fmt(f.posts / f.postCpu, 0)} POSTs and ${fmt((f.posts * READINGS_PER_POST) / f.postCpu, 0)} readings per CPU second; ` +
      `statuses ${JSON.stringify(Object.fromEntries(f.statuses))}` +
      (f.postIntakeCpu < f.postCpu - 0.05
        ? `; ${fmt(f.postIntakeCpu)} CPU s of it before the deferred store work`
        : ''),
  );
  console.log(
    `${name}: ${f.blocks} level-8 blocks (${f.blocks * SAMPLES_PER_BLOCK} samples) in ${fmt(f.blockWall)} s, ${fmt(f.blockCpu)} CPU s -> ` +
      `${fmt(f.blocks / f.blockCpu, 0)} blocks and ${fmt((f.blocks * SAMPLES_PER_BLOCK) / f.blockCpu, 0)} samples per CPU second` +
      (f.blockIntakeCpu < f.blockCpu - 0.05
        ? `; ${fmt(f.blockIntakeCpu)} CPU s of it before the deferred store work`
        : ''),
  );
}

async function baseline(load: Load): Promise<Figures> {
  const pki = await testPki();
  const devicesFile = join(pki.dir, 'baseline-devices.json');
  await writeFile(devicesFile, JSON.stringify([...load.httpDevices, ...load.bridgeDevices]));
  const proc = spawn(process.execPath, [join(repoRoot, 'dist', 'bench', 'server-baseline.js')], {
    env: {
      ...process.env,
      FLM_BASELINE_DEVICES: devicesFile,
      FLM_BASELINE_CERT: join(pki.dir, 'server.crt'),
      FLM_BASELINE_KEY: join(pki.dir, 'server.key'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).once('line', resolve);
      proc.once('exit', (code) => reject(new Error(`baseline exited ${code}`)));
    });
    const ports = JSON.parse(first) as { http: number; bridge: number };
    return await measure(
      proc.pid!,
      ports.http,
      `mqtts://127.0.0.1:${ports.bridge}`,
      pki.caFile,
      load,
      load.rounds,
      load.blocks,
    );
  } finally {
    proc.kill('SIGKILL');
  }
}

/** The server's memory after a full garbage collection (`/health?gc=1`, the server runs with --expose-gc). */
interface Memory {
  rss: number;
  heapUsed: number;
}

async function memoryAfterGc(port: number): Promise<Memory> {
  const h = (await fetch(`http://127.0.0.1:${port}/health?gc=1`).then((r) => r.json())) as { memory: Memory };
  return { rss: h.memory.rss, heapUsed: h.memory.heapUsed };
}

interface ServerRun {
  f: Figures;
  /** after the warm-up, after the first half of the load, after the second */
  mem0: Memory;
  memHalf: Memory;
  mem1: Memory;
  health: string;
  /** blocks the server lists for the last sensor of each load (it stored what it was sent) */
  stored: { http: number; bridge: number };
}

/** How many blocks `GET /sensor/<sid>/tmpo/sync` lists for a sensor. */
async function listed(port: number, sid: string, token: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/sensor/${sid}/tmpo/sync?rid=0&lvl=0&bid=0`, {
    headers: { 'X-Version': '1.0', 'X-Token': token, Accept: 'application/json' },
  });
  return r.status === 200 ? ((await r.json()) as unknown[]).length : -r.status;
}

async function server(load: Load): Promise<ServerRun> {
  const place = await serverPlace();
  const data = dataDirOf(place);
  try {
    const user = await runFlm(['server', 'user', 'add', 'bench', '--data', data]);
    if (user.code !== 0) throw new Error(`flm server user add: ${user.out}${user.err}`);
    const token = /[0-9a-f]{32}/.exec(user.out)?.[0] ?? '';
    for (const d of [...load.httpDevices, ...load.bridgeDevices]) {
      const r = await runFlm([
        'server',
        'device',
        'add',
        d.did,
        d.key,
        '--user',
        'bench',
        ...d.sids.flatMap((s) => ['--sensor', s]),
        '--data',
        data,
      ]);
      if (r.code !== 0) throw new Error(`flm server device add: ${r.out}${r.err}`);
    }
    const run = startServerMode(place, { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() });
    try {
      await untilHealthy(place, run);
      const pid = run.proc.pid!;
      const caFile = await bridgeCaFile(place, run.output);
      const bridgeUrl = `mqtts://127.0.0.1:${place.bridge}`;
      // warm-up, untimed: other timestamps than the measured load
      await driveHttp(place.api, load.warmRounds, CONCURRENCY);
      await (await driveBridge(bridgeUrl, caFile, load.bridgeDevices.slice(0, 10), load.warmBlocks)).close();
      await settle(pid, place.api);
      const mem0 = await memoryAfterGc(place.api);
      // in two halves (older data first), so memory can be seen to level off
      const halfRounds = Math.floor(load.rounds.length / 2);
      const halfBlocks = (b: Block[]): number => Math.floor(b.length / 2);
      const f1 = await measure(
        pid,
        place.api,
        bridgeUrl,
        caFile,
        load,
        load.rounds.slice(0, halfRounds),
        load.blocks.map((b) => b.slice(0, halfBlocks(b))),
        place.api,
      );
      const memHalf = await memoryAfterGc(place.api);
      const f2 = await measure(
        pid,
        place.api,
        bridgeUrl,
        caFile,
        load,
        load.rounds.slice(halfRounds),
        load.blocks.map((b) => b.slice(halfBlocks(b))),
        place.api,
      );
      const mem1 = await memoryAfterGc(place.api);
      const f = sum(f1, f2);
      const health = await fetch(`http://127.0.0.1:${place.api}/health`).then((r) => r.text());
      const stored = {
        http: await listed(place.api, load.httpDevices.at(-1)!.sids[3]!, token),
        bridge: await listed(place.api, load.bridgeDevices.at(-1)!.sids[3]!, token),
      };
      return { f, mem0, memHalf, mem1, health, stored };
    } finally {
      await run.stop(10_000);
    }
  } finally {
    await place.dir.remove();
  }
}

async function main(): Promise<void> {
  const load = prepare('127.0.0.1');
  console.log(
    `load: ${load.rounds.length * 4} POSTs from ${HTTP_DEVICES} FLMs, ${load.blocks.reduce((n, b) => n + b.length, 0)} level-8 blocks from ${BRIDGE_DEVICES} FLMs`,
  );
  const base = await baseline(load);
  report('baseline (parse + digest only)', base);
  const s = await server(load);
  report('FLM_MODE=server', s.f);
  const postsPerCpu = s.f.posts / s.f.postCpu;
  const blocksPerCpu = s.f.blocks / s.f.blockCpu;
  console.log(
    `server vs baseline CPU per request: HTTP ${fmt(s.f.postCpu / s.f.posts / (base.postCpu / base.posts))}x, ` +
      `blocks ${fmt(s.f.blockCpu / s.f.blocks / (base.blockCpu / base.blocks))}x`,
  );
  const m = [s.mem0, s.memHalf, s.mem1];
  console.log(
    `server memory after a full GC, after warm-up -> half the load -> all of it: heap used ${m.map((x) => mb(x.heapUsed)).join(' -> ')} MB, ` +
      `RSS ${m.map((x) => mb(x.rss)).join(' -> ')} MB; /health ${s.health}`,
  );
  const expectedPosts = load.rounds.length * 4;
  verdict(
    `the server lists blocks for the last sensor of each load (HTTP: ${s.stored.http}, bridge: ${s.stored.bridge})`,
    s.stored.http > 0 && s.stored.bridge > 0,
  );
  verdict(`every measured POST answered 200 (${s.f.posts} of ${expectedPosts})`, s.f.posts === expectedPosts);
  goal('server HTTP POSTs per CPU second (10,000 FLMs x 10)', postsPerCpu, '>=', POSTS_GOAL, { digits: 0 });
  goal('server level-8 blocks per CPU second (10,000 FLMs x 10)', blocksPerCpu, '>=', BLOCKS_GOAL, { digits: 0 });
  goal('server RSS growth over the whole load', (s.mem1.rss - s.mem0.rss) / 1048576, '<', 128, {
    digits: 1,
    unit: ' MB',
  });
  goal(
    'server RSS growth over the second half of the load (flat: levels off)',
    (s.mem1.rss - s.memHalf.rss) / 1048576,
    '<',
    32,
    { digits: 1, unit: ' MB' },
  );
  goal(
    'server heap growth (after GC) over the second half of the load (nothing kept per request)',
    (s.mem1.heapUsed - s.memHalf.heapUsed) / 1048576,
    '<',
    8,
    { digits: 1, unit: ' MB' },
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
