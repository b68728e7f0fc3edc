/**
 * The MySQL writer (core/sinks/mysql) against a real MariaDB started for this file: direct
 * writes, an outage spooled and drained exactly once, a spool replayed after a restart, and the
 * errors a person has to fix.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MariaDb, USERS, type DbUser } from '../support/mariadb';
import { tempDir, waitFor } from '../support/nodered';
import {
  MysqlSpool,
  MysqlWriter,
  openPool,
  tableNames,
  mysqlSinkConfig,
  type ReadingRow,
  type SensorRow,
  type WriterEvent,
} from '../../core/sinks/mysql';

let db: MariaDb;
before(async () => {
  db = await MariaDb.start();
});
after(async () => {
  await db?.remove();
});

const SID = (n: number) => n.toString(16).padStart(32, 'e');
const T0 = 1_750_000_000;
const rows = (n: number, from = 0, sid = SID(1)): ReadingRow[] =>
  Array.from({ length: n }, (_, i) => ({
    sid,
    kind: (from + i) % 3 ? 'gauge' : 'counter',
    ts: T0 + from + i,
    value: (from + i) / 4,
  }));

async function openWriter(dir: string, prefix: string, who: DbUser = USERS.full, events: WriterEvent[] = []) {
  const config = mysqlSinkConfig({ url: db.url(who), prefix });
  const spool = await MysqlSpool.open({ dir });
  const writer = new MysqlWriter({
    db: openPool(config.target, { connectTimeoutMs: 2000 }),
    tables: tableNames(prefix),
    spool,
    database: config.target.database,
    batchSize: 100,
    backoff: { minMs: 50, maxMs: 400 },
    onEvent: (e) => events.push(e),
  });
  writer.start();
  return { writer, events, spool };
}

const count = async (sql: string) => Number(await db.scalar(sql));

test('batches go straight in; writing the same rows again adds nothing; sensors are upserted field by field', async () => {
  const dir = await tempDir();
  const { writer, events } = await openWriter(join(dir.path, 'spool'), 'w1_');
  try {
    assert.equal(await writer.write(rows(250)), 'written');
    assert.equal(await writer.write(rows(50, 200)), 'written', 'the last 50 overlap the first batch');
    assert.equal(await count('SELECT COUNT(*) FROM w1_readings'), 250);
    assert.equal(await count('SELECT COUNT(DISTINCT sid, kind, ts) FROM w1_readings'), 250);
    assert.equal(
      await db.scalar(`SELECT value FROM w1_readings WHERE sid = '${SID(1)}' AND ts = ${T0 + 201}`),
      '50.25',
    );
    assert.equal(writer.state().written, 300);
    assert.deepEqual(
      events.filter((e) => e.kind === 'ready'),
      [{ kind: 'ready', tables: 'created' }],
    );

    const base: SensorRow = {
      sid: SID(1),
      deviceId: SID(9),
      name: 'main',
      type: 'electricity',
      subtype: null,
      class: 'analog',
      counterUnit: 'Wh',
      gaugeUnit: 'W',
    };
    writer.noteSensors([base]);
    writer.noteSensors([{ ...base, name: 'mains', class: null, deviceId: null }]);
    await writer.write(rows(1, 1000));
    assert.equal(
      await db.rootSql('SELECT sid, device_id, name, class, counter_unit, gauge_unit FROM w1_sensors', 'flm'),
      `${SID(1)}\t${SID(9)}\tmains\tanalog\tWh\tW\n`,
    );
  } finally {
    await writer.close();
    await dir.remove();
  }
});

test('an outage: batches go to the spool, in order, and reach the table exactly once when the server is back', async () => {
  const dir = await tempDir();
  const spoolDir = join(dir.path, 'spool');
  const { writer, events } = await openWriter(spoolDir, 'w2_');
  try {
    assert.equal(await writer.write(rows(100)), 'written');
    await db.stop();
    const outcomes = await Promise.all([
      writer.write(rows(100, 100)),
      writer.write(rows(100, 200)),
      writer.write(rows(37, 300)),
    ]);
    assert.deepEqual(outcomes, ['spooled', 'spooled', 'spooled']);
    const st = writer.state();
    assert.equal(st.mode, 'spooling');
    assert.equal(st.spooled, 237);
    assert.equal(st.lastError?.kind, 'unreachable');
    assert.ok(readdirSync(spoolDir).some((f) => f.endsWith('.spool')));
    assert.equal(events.filter((e) => e.kind === 'failed').length, 1, 'one event for a failure that repeats');

    await db.resume();
    await waitFor('the spool drained', () => writer.state().mode === 'direct' && writer.state().spooled === 0, 20_000);
    assert.equal(await writer.write(rows(10, 400)), 'written', 'direct again');
    assert.equal(await count('SELECT COUNT(*) FROM w2_readings'), 347);
    assert.equal(await count(`SELECT COUNT(*) FROM w2_readings WHERE ts BETWEEN ${T0} AND ${T0 + 336}`), 337);
    assert.deepEqual(readdirSync(spoolDir), [], 'nothing left in the spool folder');
    assert.ok(events.some((e) => e.kind === 'recovered' && e.replayed === 237));
    assert.equal(writer.state().lastError, undefined);
  } finally {
    await db.resume();
    await writer.close();
    await dir.remove();
  }
});

test('a spool left by a run that ended during an outage is written first by the next run, replays harmless', async () => {
  const dir = await tempDir();
  const spoolDir = join(dir.path, 'spool');
  const first = await openWriter(spoolDir, 'w3_');
  try {
    assert.equal(await first.writer.write(rows(60)), 'written');
    await db.stop();
    assert.equal(await first.writer.write(rows(80, 40)), 'spooled', 'overlaps what is in the table');
    await first.writer.close();
    assert.equal((await MysqlSpool.open({ dir: spoolDir })).depth(), 80);

    await db.resume();
    const second = await openWriter(spoolDir, 'w3_');
    try {
      assert.equal(second.writer.state().mode, 'spooling', 'the old spool goes first');
      assert.equal(await second.writer.write(rows(5, 500)), 'spooled', 'and new rows queue behind it');
      await waitFor(
        'the spool drained',
        () => second.writer.state().mode === 'direct' && second.writer.state().spooled === 0,
        20_000,
      );
      assert.equal(await count('SELECT COUNT(*) FROM w3_readings'), 125);
      assert.equal(await count('SELECT COUNT(DISTINCT sid, kind, ts) FROM w3_readings'), 125);
    } finally {
      await second.writer.close();
    }
  } finally {
    await db.resume();
    await dir.remove();
  }
});

test('a wrong password, missing privileges and a table of another shape are errors a person can act on; the rows wait', async () => {
  const dir = await tempDir();
  try {
    const cases: Array<{ who: DbUser; prefix: string; kind: string; text: RegExp }> = [
      {
        who: { user: USERS.full.user, password: 'wrong' },
        prefix: 'w4_',
        kind: 'auth',
        text: /^authentication failed: check user and password/,
      },
      {
        who: USERS.reader,
        prefix: 'w4_',
        kind: 'privileges',
        text: /^missing privileges: CREATE on table `flm`.`w4_sensors` for 'flm_reader'@'127.0.0.1'/,
      },
      {
        who: USERS.outsider,
        prefix: 'w4_',
        kind: 'privileges',
        text: /^missing privileges: 'flm_outsider'@'127.0.0.1' has no privileges on database 'flm'/,
      },
      {
        who: USERS.full,
        prefix: 'other_',
        kind: 'schema',
        text: /^table other_readings has primary key \(none\), not \(sid, kind, ts\)/,
      },
    ];
    await db.rootSql('CREATE TABLE other_readings (sid CHAR(32), kind VARCHAR(8), ts INT, value DOUBLE)', 'flm');
    for (const [i, c] of cases.entries()) {
      const events: WriterEvent[] = [];
      const { writer } = await openWriter(join(dir.path, `spool${i}`), c.prefix, c.who, events);
      try {
        assert.equal(await writer.write(rows(10)), 'spooled');
        const failed = await waitFor(`${c.kind} error`, () => events.find((e) => e.kind === 'failed'));
        assert.equal(failed.kind === 'failed' && failed.error.kind, c.kind);
        assert.match(failed.kind === 'failed' ? failed.error.message : '', c.text);
        assert.equal(writer.state().spooled, 10);
      } finally {
        await writer.close();
      }
    }
    // The tables exist now (made by the full user): the reader gets as far as the INSERT.
    const events: WriterEvent[] = [];
    const full = await openWriter(join(dir.path, 'spool-full'), 'w5_');
    await full.writer.write(rows(1));
    await full.writer.close();
    const { writer } = await openWriter(join(dir.path, 'spool-reader'), 'w5_', USERS.reader, events);
    try {
      await writer.write(rows(3, 10));
      const failed = await waitFor('privilege error', () => events.find((e) => e.kind === 'failed'));
      assert.match(
        failed.kind === 'failed' ? failed.error.message : '',
        /^missing privileges: INSERT on table `flm`.`w5_readings`/,
      );
    } finally {
      await writer.close();
    }
  } finally {
    await dir.remove();
  }
});
