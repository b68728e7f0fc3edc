/**
 * MySQL: rows per second through flm-mysql's batched writer (Batcher + MysqlWriter,
 * multi-row INSERT IGNORE of 500 rows), against single-row INSERTs with a mysql2 prepared
 * statement, one after the other, into the same kind of table on the same private MariaDB, in
 * the same run. Goal: batched at least 10x the single-row rate.
 *
 * The server keeps MariaDB's defaults that matter here (innodb_flush_log_at_trx_commit=1: each
 * commit is flushed to disk), as a real server would. The writer is fed as the node feeds it:
 * readings arrive, batches of 500 go out, and no more than four batches wait for the database,
 * so every row goes the direct way (the bench checks that none went through the spool).
 * FLM_BENCH_MYSQL_ROWS sets N (20 000 by default); the single-row loop stops after N rows or
 * 60 s, whichever comes first, and its rate is taken over what it did.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool } from 'mysql2/promise';
import { MariaDb, USERS, DATABASE } from '../test/support/mariadb';
import {
  Batcher,
  MysqlSpool,
  MysqlWriter,
  ensureSchema,
  openPool,
  tableNames,
  mysqlSinkConfig,
  DEFAULT_BATCH_SIZE,
  type ReadingRow,
} from '../core/sinks/mysql';
import { fmt, goal } from './support';

const N = Number(process.env.FLM_BENCH_MYSQL_ROWS ?? 20_000);
const SINGLE_MAX_MS = 60_000;
const SENSORS = 20;
const T0 = 1_750_000_000;
const SIDS = Array.from({ length: SENSORS }, (_, i) => (i + 1).toString(16).padStart(32, 'c'));
/** the same rows in both runs: 20 sensors, one gauge a second each */
const rowAt = (i: number): ReadingRow => ({
  sid: SIDS[i % SENSORS]!,
  kind: 'gauge',
  ts: T0 + Math.floor(i / SENSORS),
  value: 100 + (i % 977) * 0.5,
});

async function batched(url: string, spoolDir: string): Promise<{ ms: number; spooled: number }> {
  const config = mysqlSinkConfig({ url, prefix: 'bench_batched_' });
  const spool = await MysqlSpool.open({ dir: spoolDir });
  let spooled = 0;
  const writer = new MysqlWriter({
    db: openPool(config.target),
    tables: tableNames(config.prefix),
    spool,
    batchSize: DEFAULT_BATCH_SIZE,
  });
  writer.start();
  let outstanding = 0;
  let finished = 0;
  let release: (() => void) | undefined;
  let failure: unknown;
  const batcher = new Batcher<ReadingRow>({
    maxItems: DEFAULT_BATCH_SIZE,
    maxDelayMs: 1000,
    onBatch: (rows) => {
      outstanding += rows.length;
      writer.write(rows).then(
        (outcome) => {
          if (outcome === 'spooled') spooled += rows.length;
          outstanding -= rows.length;
          finished += rows.length;
          release?.();
        },
        (err: unknown) => (failure = err),
      );
    },
  });
  const wait = () => new Promise<void>((r) => (release = r));
  await tablesFor(config.target, config.prefix);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    batcher.add(rowAt(i));
    while (outstanding >= 4 * DEFAULT_BATCH_SIZE && !failure) await wait();
  }
  batcher.flush();
  while (finished < N && !failure) await wait();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await writer.close();
  if (failure) throw failure;
  return { ms, spooled };
}

/** The tables, made before the clock starts, as the node has them by the time readings arrive. */
async function tablesFor(target: Parameters<typeof openPool>[0], prefix: string): Promise<void> {
  const db = openPool(target);
  try {
    await ensureSchema(db, tableNames(prefix));
  } finally {
    await db.end();
  }
}

async function singleRows(url: string): Promise<{ ms: number; rows: number }> {
  const config = mysqlSinkConfig({ url, prefix: 'bench_single_' });
  const tables = tableNames(config.prefix);
  await tablesFor(config.target, config.prefix);
  const pool = createPool({ ...config.target, connectionLimit: 1 });
  const sql = `INSERT IGNORE INTO \`${tables.readings}\` (sid, kind, ts, value) VALUES (?, ?, ?, ?)`;
  const t0 = process.hrtime.bigint();
  const until = Date.now() + SINGLE_MAX_MS;
  let rows = 0;
  while (rows < N && Date.now() < until) {
    const r = rowAt(rows);
    await pool.execute(sql, [r.sid, r.kind, r.ts, r.value]);
    rows++;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await pool.end();
  return { ms, rows };
}

async function main(): Promise<void> {
  console.log(
    `${N} rows (${SENSORS} sensors, one gauge a second each) into a private MariaDB; batches of ${DEFAULT_BATCH_SIZE} against one INSERT per row`,
  );
  const db = await MariaDb.start();
  const dir = await mkdtemp(join(tmpdir(), 'flm-bench-mysql-'));
  try {
    const version = await db.scalar('SELECT VERSION()');
    const flush = await db.scalar('SELECT @@innodb_flush_log_at_trx_commit');
    console.log(`MariaDB ${version}, innodb_flush_log_at_trx_commit=${flush}`);
    const url = db.url(USERS.full);
    // The single-row loop first (it also warms the server), then the batched writer.
    const single = await singleRows(url);
    const batch = await batched(url, join(dir, 'spool'));
    const counted = {
      single: Number(await db.scalar('SELECT COUNT(*) FROM bench_single_readings')),
      batched: Number(await db.scalar('SELECT COUNT(*) FROM bench_batched_readings')),
    };
    if (counted.single !== single.rows)
      throw new Error(`single-row loop: table has ${counted.single} rows, expected ${single.rows}`);
    if (counted.batched !== N) throw new Error(`batched writer: table has ${counted.batched} rows, expected ${N}`);
    if (batch.spooled)
      throw new Error(
        `batched writer: ${batch.spooled} rows went through the spool; the bench measures the direct way`,
      );
    const singleRate = single.rows / (single.ms / 1000);
    const batchRate = N / (batch.ms / 1000);
    console.log(
      `single-row INSERTs (mysql2 execute): ${fmt(singleRate, 0)} rows/s (${single.rows} rows in ${fmt(single.ms / 1000, 1)} s${single.rows < N ? `, stopped after ${SINGLE_MAX_MS / 1000} s` : ''})`,
    );
    console.log(
      `batched writer (flm-mysql):          ${fmt(batchRate, 0)} rows/s (${N} rows in ${fmt(batch.ms / 1000, 2)} s)`,
    );
    const ratio = batchRate / singleRate;
    goal('ratio batched / single-row rows/s', ratio, '>=', 10, { digits: 1, unit: 'x' });
    console.log(`database ${DATABASE}: ${counted.single} + ${counted.batched} rows, each exactly once`);
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
