import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mysqlSinkConfig,
  parseMysqlUrl,
  describeTarget,
  tableNames,
  createTableSql,
  insertReadingsSql,
  upsertSensorsSql,
} from '../../../core/sinks/mysql';

test('a mysql:// URL gives host, port, database, user and password (percent-decoded); the port defaults to 3306', () => {
  assert.deepEqual(parseMysqlUrl('mysql://flm:p%40ss%3Aw0rd@db.example:3307/energy'), {
    host: 'db.example',
    port: 3307,
    database: 'energy',
    user: 'flm',
    password: 'p@ss:w0rd',
  });
  assert.deepEqual(parseMysqlUrl('mysql://u@10.0.0.5/flm'), {
    host: '10.0.0.5',
    port: 3306,
    database: 'flm',
    user: 'u',
    password: '',
  });
  assert.equal(parseMysqlUrl('mariadb://u:p@[::1]:3306/flm').host, '::1');
});

test('bad URLs are refused with a message that says what is wrong and never shows the password', () => {
  for (const [url, why] of [
    ['http://u:secret@h/db', /scheme must be mysql/],
    ['mysql://u:secret@h', /no database name/],
    ['mysql://u:secret@h/', /no database name/],
    ['not a url secret', /not a URL/],
  ] as const) {
    assert.throws(
      () => parseMysqlUrl(url),
      (err: Error) => why.test(err.message) && !err.message.includes('secret'),
      url,
    );
  }
});

test("credentials given apart replace the URL's; settings are checked and defaulted", () => {
  const c = mysqlSinkConfig({ url: 'mysql://urluser:urlpass@h:3306/flm', user: 'cred', password: 'credpass' });
  assert.equal(c.target.user, 'cred');
  assert.equal(c.target.password, 'credpass');
  assert.equal(c.prefix, 'flm_');
  assert.equal(c.batchSize, 500);
  assert.equal(c.batchIntervalMs, 1000);
  assert.equal(
    mysqlSinkConfig({ url: 'mysql://urluser:urlpass@h/flm', user: '', password: '' }).target.password,
    'urlpass',
  );
  assert.equal(describeTarget(c.target), 'cred@h:3306/flm');
  assert.throws(() => mysqlSinkConfig({ url: 'mysql://h/flm' }), /no user/);
  assert.throws(() => mysqlSinkConfig({ url: 'mysql://u@h/flm', prefix: 'x`; DROP TABLE y; --' }), /table prefix/);
  assert.throws(() => mysqlSinkConfig({ url: 'mysql://u@h/fl-m' }), /database/);
  assert.throws(() => mysqlSinkConfig({ url: 'mysql://u@h/flm', batchSize: 0 }), /batchSize/);
  assert.throws(() => mysqlSinkConfig({ url: 'mysql://u@h/flm', batchSize: 1e6 }), /batchSize/);
  assert.equal(mysqlSinkConfig({ url: 'mysql://u@h/flm', prefix: '', batchIntervalS: 0.25 }).batchIntervalMs, 250);
});

test('the SQL names the prefixed tables; readings are keyed by (sid, kind, ts) and inserted with IGNORE', () => {
  const t = tableNames('home_');
  assert.deepEqual(t, { sensors: 'home_sensors', readings: 'home_readings' });
  const ddl = createTableSql(t);
  assert.match(ddl.readings, /^CREATE TABLE IF NOT EXISTS `home_readings`/);
  assert.match(ddl.readings, /PRIMARY KEY \(sid, kind, ts\)/);
  assert.match(ddl.sensors, /PRIMARY KEY \(sid\)/);
  assert.equal(insertReadingsSql(t), 'INSERT IGNORE INTO `home_readings` (sid, kind, ts, value) VALUES ?');
  assert.match(upsertSensorsSql(t), /ON DUPLICATE KEY UPDATE device_id = COALESCE\(VALUES\(device_id\), device_id\)/);
});
