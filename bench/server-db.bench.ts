/**
 * The Flukso server's HTTP ingestion into the shared MariaDB database (docs/cluster.md#server-mode): POSTs
 * per second and readings per second, signed and checked as the FLM sends them, with 32 uploads
 * in flight over keep-alive connections, against the same requests into the file store (write-
 * ahead log) in the same run. Two shapes: the FLM's routine POST (5 readings, one a minute) and a
 * catch-up POST after an outage (500 readings). MariaDB keeps innodb_flush_log_at_trx_commit=1:
 * every acknowledged POST is flushed to its redo log, as the file store fdatasyncs its log.
 *
 * Goal: the database instance takes the routine traffic of 10,000 FLMs (4 sensors, one POST per
 * sensor every 5 minutes: 133 POSTs/s) at least 3 times over on this machine, which also runs the
 * database and the clients. FLM_BENCH_SERVER_DB_POSTS sets the routine POSTs (default 4000; a
 * tenth as many catch-up POSTs).
 */
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xDigest } from '../core/upload/digest';
import { FluksoServer } from '../core/server/service';
import { FileRegistry } from '../core/server/registry';
import { openDbRegistry } from '../core/server/db/open';
import type { RegistryAdmin } from '../core/server/registry';
import { MariaDb, USERS } from '../test/support/mariadb';
import { fmt, goal } from './support';

const POSTS = Number(process.env.FLM_BENCH_SERVER_DB_POSTS ?? 4000);
const IN_FLIGHT = 32;
const DEVICES = 10;
const KEY = '0123456789abcdef0123456789abcdef';
const T0 = 1_750_000_000;
const did = (d: number) => (d + 1).toString(16).padStart(32, 'd');
const sid = (d: number, s: number) => (d * 4 + s + 1).toString(16).padStart(32, 'c');

async function register(r: RegistryAdmin): Promise<void> {
  await r.addUser('bench');
  for (let d = 0; d < DEVICES; d++)
    await r.addDevice(
      did(d),
      KEY,
      'bench',
      [0, 1, 2, 3].map((s) => sid(d, s)),
    );
  await r.close();
}

/** The i-th POST of a shape: its sensor and its body (consecutive minutes per sensor). */
function body(i: number, perPost: number): { path: string; text: string } {
  const sensor = i % (DEVICES * 4);
  const round = Math.floor(i / (DEVICES * 4));
  const m = Array.from({ length: perPost }, (_, k) => {
    const minute = round * perPost + k;
    // Each shape its own time range, so neither finds the other's readings stored.
    return [T0 + perPost * 10_000_000 + minute * 60, 1000 + minute * 7];
  });
  return { path: `/sensor/${sid(Math.floor(sensor / 4), sensor % 4)}`, text: JSON.stringify({ measurements: m }) };
}

async function run(
  server: FluksoServer,
  perPost: number,
  posts: number,
): Promise<{ ms: number; readings: number; posts: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const bodies = Array.from({ length: posts }, (_, i) => body(i, perPost));
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (next < bodies.length) {
      const b = bodies[next++]!;
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          new URL(b.path, server.url),
          {
            method: 'POST',
            agent,
            headers: {
              'Content-Type': 'application/json',
              'Content-Length': String(Buffer.byteLength(b.text)),
              'X-Version': '1.0',
              'X-Digest': xDigest(KEY, b.text),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.end(b.text);
      });
      if (status !== 200) throw new Error(`POST ${b.path}: ${status}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  agent.destroy();
  return { ms, readings: posts * perPost, posts };
}

async function main(): Promise<void> {
  const db = await MariaDb.start();
  const dir = await mkdtemp(join(tmpdir(), 'flm-bench-server-db-'));
  try {
    console.log(
      `MariaDB ${await db.scalar('SELECT VERSION()')}, innodb_flush_log_at_trx_commit=${await db.scalar('SELECT @@innodb_flush_log_at_trx_commit')}; ${POSTS} POSTs per shape, ${IN_FLIGHT} in flight, ${DEVICES * 4} sensors`,
    );
    await register(await openDbRegistry(db.url()));
    await register(await FileRegistry.open(join(dir, 'server')));
    const viaDb = await FluksoServer.start({ dataDir: join(dir, 'unused'), port: 0, dbUrl: db.url(USERS.full) });
    const viaFile = await FluksoServer.start({ dataDir: dir, port: 0 });
    let routineDbPosts = 0;
    try {
      // A tenth as many catch-up POSTs: each carries a hundred times the readings.
      for (const [shape, perPost, posts] of [
        ['routine (5 readings)', 5, POSTS],
        ['catch-up (500 readings)', 500, Math.ceil(POSTS / 10)],
      ] as const) {
        const file = await run(viaFile, perPost, posts);
        const dbRun = await run(viaDb, perPost, posts);
        const rate = (r: { ms: number; readings: number; posts: number }) =>
          `${fmt(r.posts / (r.ms / 1000), 0)} POSTs/s, ${fmt(r.readings / (r.ms / 1000), 0)} readings/s`;
        console.log(`${shape}: database ${rate(dbRun)}; file store ${rate(file)}`);
        console.log(`  database / file store: ${fmt(file.ms / dbRun.ms, 2)}`);
        if (perPost === 5) routineDbPosts = POSTS / (dbRun.ms / 1000);
      }
      const stored = Number(await db.scalar('SELECT COUNT(*) FROM flm_srv_readings'));
      const expected = viaDb.store.stats().stored;
      if (stored !== expected) throw new Error(`database has ${stored} readings, the server stored ${expected}`);
      console.log(`database: ${stored} readings, each once`);
    } finally {
      await viaDb.close();
      await viaFile.close();
    }
    goal('database ingestion, routine POSTs/s over 10,000 FLMs x 4 sensors / 300 s', routineDbPosts / 133.3, '>=', 3, {
      digits: 1,
      unit: 'x',
    });
  } finally {
    await db.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
