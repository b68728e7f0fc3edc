import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir, statuses, receiveDone } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { MariaDb, USERS, type DbUser } from '../support/mariadb';
import { spoolDir } from '../../nodes/flm-mysql';
import { belgianTelegram } from '../support/p1-telegrams';
import { decodeTelegram } from '../../core/p1';

let db: MariaDb;
before(async () => {
  db = await MariaDb.start();
});
after(async () => {
  await db?.remove();
});
afterEach(async () => {
  await helper.unload();
});

const NOW = Math.floor(Date.now() / 1000);
const OTHER_DEVICE = 'fedcba98765432100123456789abcdef';

function flow(dataDir: string, mysql: Record<string, unknown>) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    { id: 'my', type: 'flm-mysql', device: 'dev', batchSize: '50', batchInterval: '0.1', ...mysql },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    { id: 'complete', type: 'complete', scope: ['my'], uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper' },
  ]);
}
const creds = (c: Partial<DbUser> = {}) => ({ dev: { deviceKey: DEVICE_KEY }, my: c });
const reading = (s: string, kind: 'gauge' | 'counter', ts: number, v: number, flm?: Record<string, unknown>) => ({
  topic: `/sensor/${s}/${kind}`,
  payload: [ts, v, kind === 'gauge' ? 'W' : 'Wh'],
  ...(flm ? { flm } : {}),
});

const count = async (sql: string) => Number(await db.scalar(sql));
/** waitFor, for a probe that has to ask the database. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const tableRows = async (table: string) =>
  (await count(`SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'flm' AND TABLE_NAME = '${table}'`))
    ? count(`SELECT COUNT(*) FROM ${table}`)
    : 0;
const connectionsOf = (user: string) =>
  count(`SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '${user}'`);

test('flm-mysql: readings become rows, sensors come from the device, the sensor table and msg.flm; other topics pass, bad payloads are rejects', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, { url: db.url(), prefix: 'n1_' }), creds());
    const my = helper.getNode('my');
    const caught = collect('caught');
    const st = statuses('my');
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 60; i++) {
      sends.push(receiveDone(my, reading(sid(1), 'gauge', NOW - 100 + i, 200 + i)));
      sends.push(receiveDone(my, reading(sid(1), 'counter', NOW - 100 + i, 5000 + i)));
    }
    sends.push(
      receiveDone(
        my,
        reading(sid(7), 'gauge', NOW, 42, {
          sid: sid(7),
          kind: 'gauge',
          name: 'heat pump',
          type: 'electricity',
          unit: 'W',
          deviceId: DEVICE_ID,
        }),
      ),
    );
    const otherTable = {
      main: { phase: 1 },
      1: { id: sid(8), type: 'gas', function: 'boiler gas', class: 'pulse', enable: 1, data_type: 'counter' },
    };
    sends.push(receiveDone(my, { topic: `/device/${OTHER_DEVICE}/config/sensor`, payload: otherTable }));
    sends.push(receiveDone(my, { topic: 'p1/availability', payload: 'online' }));
    await Promise.all(sends);
    assert.equal(caught.length, 0);

    assert.equal(await count('SELECT COUNT(*) FROM n1_readings'), 121);
    assert.equal(
      await db.scalar(
        `SELECT value FROM n1_readings WHERE sid = '${sid(1)}' AND kind = 'counter' AND ts = ${NOW - 41}`,
      ),
      '5059',
    );
    const sensors = await db.rootSql(
      'SELECT sid, device_id, name, type, class, counter_unit, gauge_unit FROM n1_sensors ORDER BY name',
      'flm',
    );
    assert.equal(
      sensors,
      [
        `${sid(8)}\t${OTHER_DEVICE}\tboiler gas\tgas\tpulse\tL\tL/day`,
        `${sid(3)}\t${DEVICE_ID}\tgas\tgas\tpulse\tL\tL/day`,
        `${sid(7)}\t${DEVICE_ID}\theat pump\telectricity\tNULL\tNULL\tW`,
        `${sid(1)}\t${DEVICE_ID}\tmain\telectricity\tanalog\tWh\tW`,
        `${sid(2)}\t${DEVICE_ID}\tsolar\telectricity\tpulse\tWh\tW`,
        `${sid(4)}\t${DEVICE_ID}\twater\twater\tpulse\tL\tL/day`,
      ].join('\n') + '\n',
    );
    await waitFor('a green status with the rows written', () =>
      st.find((s) => s.fill === 'green' && s.text === '121 rows'),
    );

    // Not a reading: a catchable error, counted, and nothing written.
    my.receive({ topic: `/sensor/${sid(1)}/gauge`, payload: [NOW, 'lots', 'W'] });
    my.receive({ topic: '/hello', payload: 1 });
    await waitFor('two errors caught', () => caught.length === 2);
    assert.match(caught[0].error.message, /payload value must be a finite number/);
    assert.match(caught[1].error.message, /not a reading topic: "\/hello"/);
    await waitFor('red reject status', () =>
      st.find((s) => s.fill === 'red' && /^2 rejects: not a reading topic/.test(s.text ?? '')),
    );
    // The same error again within the minute: counted, not reported again.
    for (let i = 0; i < 3; i++) my.receive({ topic: `/sensor/${sid(1)}/gauge`, payload: [NOW + i, 'lots', 'W'] });
    await waitFor('5 rejects counted', () => st.find((s) => /^5 rejects: /.test(s.text ?? '')));
    assert.equal(caught.length, 2, 'no more errors at Catch for the same kind');
    assert.equal(await count('SELECT COUNT(*) FROM n1_readings'), 121);
  });
});

test("flm-mysql: a P1 meter's derived sensors (no table edited) are written with their names, and their readings as rows", async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: HOUSEHOLD_SENSORS },
        { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['my']] },
        {
          id: 'my',
          type: 'flm-mysql',
          device: 'dev',
          url: db.url(),
          prefix: 'p1_',
          batchSize: '50',
          batchInterval: '0.1',
        },
        { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ]),
      creds(),
    );
    const caught = collect('caught');
    const sensor = helper.getNode('sensor');
    const at = Date.now() - 5000;
    for (let i = 0; i < 3; i++) {
      const text = belgianTelegram({
        at: at + i * 1000,
        capturedAt: at - 60_000,
        registers: [1234.5 + i / 1000, 2000.25, 10, 20.125],
        gas: 1500.5,
        water: 80.25,
      });
      const d = decodeTelegram(text);
      assert.ok(d.ok);
      sensor.receive({ topic: 'p1/telegram', payload: d.telegram });
    }
    const named = async (name: string) =>
      (await tableRows('p1_sensors'))
        ? db.rootSql(`SELECT sid, class, counter_unit FROM p1_sensors WHERE name = '${name}'`, 'flm')
        : '';
    await eventually(
      'the grid, import and gas sensors',
      async () => (await named('grid')) && (await named('grid import t1')) && (await named('gas')),
    );
    const [gridSid, cls, unit] = (await named('grid')).trim().split('\t');
    assert.deepEqual([cls, unit], ['cosem', 'Wh']);
    await eventually(
      'the grid counter rows',
      async () => (await count(`SELECT COUNT(*) FROM p1_readings WHERE sid = '${gridSid}' AND kind = 'counter'`)) >= 3,
    );
    assert.equal(
      await db.scalar(`SELECT MAX(value) FROM p1_readings WHERE sid = '${gridSid}' AND kind = 'counter'`),
      String(1234500 + 2 + 2000250 - 10000 - 20125),
    );
    assert.deepEqual(
      caught.map((c) => c.error.message),
      [],
    );
  });
});

test('flm-mysql: no URL (blank or an unset ${FLM_MYSQL_URL}) is off: grey "off: no database URL", no error, messages done', async () => {
  await withDataDir(async (dir) => {
    for (const url of ['', '${FLM_MYSQL_URL_NOT_SET_IN_TESTS}']) {
      await helper.load(flmNodes, flow(dir, { url }), creds());
      const my = helper.getNode('my');
      const caught = collect('caught');
      await receiveDone(my, reading(sid(1), 'gauge', NOW, 1));
      await receiveDone(my, { topic: '/hello', payload: 'not looked at' });
      await waitFor('grey status', () => my.status.called && my.status.lastCall.args[0].fill === 'grey');
      assert.deepEqual(my.status.lastCall.args[0], { fill: 'grey', shape: 'ring', text: 'off: no database URL' });
      assert.equal(my.error.called, false);
      assert.deepEqual(caught, []);
      assert.ok(!existsSync(join(dir, 'mysql')), 'no spool when off');
      await helper.unload();
    }
  });
});

test('flm-mysql: a wrong password is a red "authentication failed" and an error; the readings wait in the spool and go in once the credentials are right', async () => {
  await withDataDir(async (dir) => {
    const url = db.url({ user: USERS.full.user, password: 'not-the-password' });
    await helper.load(flmNodes, flow(dir, { url, prefix: 'n2_' }), creds());
    const my = helper.getNode('my');
    const st = statuses('my');
    for (let i = 0; i < 10; i++) await receiveDone(my, reading(sid(2), 'counter', NOW - 20 + i, 100 + i));
    const red = await waitFor(
      'red status with the spooled readings',
      () => st.find((s) => s.fill === 'red' && /10 spooled/.test(s.text ?? '')),
      15_000,
    );
    assert.equal(red.shape, 'ring');
    assert.match(red.text!, /^0 rows · 10 spooled · authentication failed: check user and password/);
    await waitFor('node.error', () => my.error.called);
    assert.match(
      String(my.error.firstCall.args[0]),
      /^authentication failed: check user and password \(Access denied for user 'flm'@'127.0.0.1'.*readings kept in the spool/,
    );
    assert.ok(readdirSync(spoolDir(dir, 'my')).some((f) => f.endsWith('.spool')));
    await helper.unload();

    // The credentials replace the URL's user and password.
    await helper.load(
      flmNodes,
      flow(dir, { url, prefix: 'n2_' }),
      creds({ user: USERS.full.user, password: USERS.full.password }),
    );
    await eventually('the spooled readings written', async () => (await tableRows('n2_readings')) === 10);
    await waitFor('spool emptied', () => readdirSync(spoolDir(dir, 'my')).length === 0);
  });
});

test('flm-mysql: missing privileges are a red "missing privileges" naming what is missing', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, { url: db.url(USERS.reader), prefix: 'n3_' }), creds());
    const my = helper.getNode('my');
    const st = statuses('my');
    await receiveDone(my, reading(sid(1), 'gauge', NOW, 1));
    const red = await waitFor(
      'red status',
      () => st.find((s) => s.fill === 'red' && /missing privileges/.test(s.text ?? '')),
      15_000,
    );
    assert.match(red.text!, /missing privileges: CREATE on table `flm`.`n3_sensors`/);
    await waitFor('node.error', () => my.error.called);
    assert.match(
      String(my.error.firstCall.args[0]),
      /^missing privileges: CREATE on table `flm`.`n3_sensors` for 'flm_reader'@'127.0.0.1' \(the node needs SELECT, INSERT, UPDATE/,
    );
  });
});

test('flm-mysql: readings spooled during an outage survive a redeploy and are written after it', async () => {
  await withDataDir(async (dir) => {
    await db.stop();
    try {
      await helper.load(flmNodes, flow(dir, { url: db.url(), prefix: 'n4_' }), creds());
      const my = helper.getNode('my');
      const st = statuses('my');
      for (let i = 0; i < 30; i++) await receiveDone(my, reading(sid(3), 'gauge', NOW - 30 + i, i));
      const yellow = await waitFor('yellow: unreachable, spooled', () =>
        st.find((s) => s.fill === 'yellow' && /30 spooled · database unreachable/.test(s.text ?? '')),
      );
      assert.equal(yellow.shape, 'ring');
      assert.equal(my.error.called, false, 'an unreachable server is a warning, not a flow error');
      await helper.unload();
    } finally {
      await db.resume();
    }
    await helper.load(flmNodes, flow(dir, { url: db.url(), prefix: 'n4_' }), creds());
    const st = statuses('my');
    await waitFor('green: written', () => st.find((s) => s.fill === 'green' && s.text === '30 rows'), 15_000);
    assert.equal(await count('SELECT COUNT(*) FROM n4_readings'), 30);
  });
});

test('flm-mysql: redeploying 20 times leaves no connection open; close frees the pool', async () => {
  await withDataDir(async (dir) => {
    for (let i = 0; i < 20; i++) {
      await helper.load(flmNodes, flow(dir, { url: db.url(), prefix: 'n5_' }), creds());
      await receiveDone(helper.getNode('my'), reading(sid(1), 'gauge', NOW - 100 + i, i));
      await helper.unload();
    }
    assert.equal(await count('SELECT COUNT(*) FROM n5_readings'), 20);
    // The server notices a closed connection a moment after the client closed it.
    await eventually('no connection of the node left', async () => (await connectionsOf(USERS.full.user)) === 0, 5000);
  });
});
