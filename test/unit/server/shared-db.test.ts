import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { xDigest } from '../../../core/upload/digest';
import { FluksoServer } from '../../../core/server/service';
import { openDbRegistry } from '../../../core/server/db/open';
import { encodeSeries } from '../../../core/tmpo/codec';
import { MariaDb, USERS } from '../../support/mariadb';
import { TmpoPyClient } from '../../support/tmpo-py-client';
import { withTempDir } from '../../support/temp-dir';
import { runFlm } from '../../support/cli';

// Two server instances on one MariaDB database (docs/protocols/server.md#shared-database): any instance answers any
// device, a retried upload is stored once whichever instance takes it, and while the database is
// away both refuse (503) instead of acknowledging what they cannot keep.

const DID = 'd'.repeat(32);
const KEY = '0123456789abcdef0123456789abcdef';
const S1 = '1'.repeat(32);
const S2 = '2'.repeat(32);
const T0 = 1_700_000_000 - (1_700_000_000 % 86400);

interface Reply {
  status: number;
  body: string;
}

function http(base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { method, headers: body ? { 'Content-Length': String(Buffer.byteLength(body)), ...headers } : headers },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const post = (server: FluksoServer, sid: string, m: Array<[number, number]>) => {
  const body = JSON.stringify({ measurements: m });
  return http(server.url, 'POST', `sensor/${sid}`, body, {
    'Content-Type': 'application/json',
    'X-Version': '1.0',
    'X-Digest': xDigest(KEY, body),
  });
};

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let db: MariaDb;
before(async () => {
  db = await MariaDb.start();
});
after(async () => {
  await db?.remove();
});

test('two instances on one database: a retried POST is stored once; each reads what the other took', async () => {
  await withTempDir(async (dir) => {
    const cli = await openDbRegistry(db.url());
    const alice = await cli.addUser('alice');
    await cli.addDevice(DID, KEY, 'alice', [S1]);
    await cli.close();
    const now = T0 + 3 * 86400;
    const a = await FluksoServer.start({ dataDir: `${dir}/a`, port: 0, now: () => now, dbUrl: db.url() });
    const b = await FluksoServer.start({ dataDir: `${dir}/b`, port: 0, now: () => now, dbUrl: db.url() });
    try {
      const m: Array<[number, number]> = Array.from({ length: 1440 }, (_, i) => [T0 + i * 60, 1000 + i * 5]);
      // The FLM's POST reaches A; its answer is lost; it sends the same body again through B.
      assert.equal((await post(a, S1, m)).status, 200);
      assert.equal((await post(b, S1, m)).status, 200);
      // And a later POST, overlapping the first half, through B.
      const more: Array<[number, number]> = Array.from({ length: 1440 }, (_, i) => [T0 + 43_200 + i * 60, 9]);
      assert.equal((await post(b, S1, more)).status, 200);
      assert.equal(await db.scalar('SELECT COUNT(*) FROM flm_srv_readings'), String(1440 + 720));
      assert.equal(await db.scalar('SELECT COUNT(DISTINCT sid, rid, ts) FROM flm_srv_readings'), String(1440 + 720));
      assert.equal(await db.scalar(`SELECT v FROM flm_srv_readings WHERE ts = ${T0 + 43_200}`), String(1000 + 720 * 5));
      assert.deepEqual([a.store.stats().stored, b.store.stats().stored], [1440, 720]);
      assert.equal(b.store.stats().duplicates, 1440 + 720);

      // Reads: the REST answer and the TMPO blocks are the same on both instances.
      const rest = (s: FluksoServer) =>
        http(s.url, 'GET', `sensor/${S1}?start=${T0}&end=${T0 + 86400}&resolution=hour&version=1.0&token=${alice}`);
      const [ra, rb] = [await rest(a), await rest(b)];
      assert.equal(ra.status, 200);
      assert.equal(ra.body, rb.body);
      assert.ok(!ra.body.includes('nan'));
      const keys = await a.store.list({ sid: S1 });
      assert.deepEqual(await b.store.list({ sid: S1 }), keys);
      for (const k of keys) assert.deepEqual(await b.store.read(k), await a.store.read(k));
      const sync = (s: FluksoServer) =>
        http(s.url, 'GET', `sensor/${S1}/tmpo/sync?rid=0&lvl=0&bid=0`, undefined, {
          'X-Version': '1.0',
          'X-Token': alice,
        });
      assert.equal((await sync(a)).body, (await sync(b)).body);
      // tmpo-py syncing from B gets every reading A and B took, once.
      const client = new TmpoPyClient(b.url.replace(/\/$/, ''), { now: () => now });
      client.add(S1, alice);
      await client.sync();
      const got = client.series(S1);
      assert.equal(got.times.length, 1440 + 720);
      assert.deepEqual(got.times.slice(0, 2), [T0, T0 + 60]);

      // A bridged block through A is the sync reply on B.
      const bid = T0 + 86400;
      const block = encodeSeries({ times: [bid, bid + 10], values: [1, 2] }, { id: S1, rid: 0 });
      await a.bridgeBackend.storeBlock(DID, { sid: S1, rid: 0, lvl: 8, bid, ext: 'gz', data: block });
      assert.deepEqual(await b.bridgeBackend.syncList(DID), [{ sid: S1, rid: 0, lvl: 8, bid }]);

      // A sensor table bridged through B is known to A within a second.
      await b.bridgeBackend.storeConfig(
        DID,
        'sensor',
        Buffer.from(JSON.stringify({ 1: { id: S1, enable: 1, type: 'electricity' }, 2: { id: S2, enable: 1 } })),
      );
      await until('A learns the new sensor', async () => {
        await a.registry.refresh();
        return a.registry.sensor(S2) !== undefined;
      });
      assert.equal(a.registry.sensor(S2)!.token, b.registry.sensor(S2)!.token);
      assert.equal((await post(a, S2, [[T0, 1]])).status, 200);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

test('database away: 503 on POST and /health, the bridge takes no block; back: data again, nothing lost', async () => {
  await withTempDir(async (dir) => {
    const name = 'outage';
    await db.rootSql(`CREATE DATABASE ${name}; GRANT ALL PRIVILEGES ON ${name}.* TO '${USERS.full.user}'@'127.0.0.1'`);
    const url = db.url(USERS.full, name);
    const cli = await openDbRegistry(url);
    const alice = await cli.addUser('alice');
    await cli.addDevice(DID, KEY, 'alice', [S1]);
    await cli.close();
    const errors: string[] = [];
    const a = await FluksoServer.start({
      dataDir: dir,
      port: 0,
      dbUrl: url,
      onError: (e) => errors.push(String(e)),
    });
    try {
      assert.equal((await post(a, S1, [[T0, 1]])).status, 200);
      assert.equal((await http(a.url, 'GET', 'health')).status, 200);

      await db.stop();
      assert.equal((await post(a, S1, [[T0 + 60, 2]])).status, 503);
      assert.equal((await http(a.url, 'GET', 'health')).status, 503);
      const block = encodeSeries({ times: [T0 + 120], values: [3] }, { id: S1, rid: 0 });
      await assert.rejects(
        a.bridgeBackend.storeBlock(DID, { sid: S1, rid: 0, lvl: 8, bid: T0 + 0, ext: 'gz', data: block }),
      );
      // Reads wait for the database too: 503, which a client or balancer tries again.
      const read = await http(a.url, 'GET', `sensor/${S1}?interval=hour&version=1.0&token=${alice}`);
      assert.equal(read.status, 503);
      // Logins keep working from the registry's copy; only storing waits for the database.
      assert.equal(await a.bridgeBackend.authenticate(DID, KEY), true);
      assert.ok(
        errors.some((e) => /away/.test(e)),
        errors.join('\n'),
      );

      await db.resume();
      await until('/health answers 200 again', async () => (await http(a.url, 'GET', 'health')).status === 200);
      assert.equal((await post(a, S1, [[T0 + 60, 2]])).status, 200);
      const got: number[] = [];
      await a.store.forEachSample(S1, 0, 0, 2 ** 40, (t) => got.push(t));
      assert.deepEqual(got, [T0, T0 + 60]);
    } finally {
      await a.close();
    }
  });
});

test('an instance starts while the database is away and takes data once it is there', async () => {
  await withTempDir(async (dir) => {
    const name = 'late';
    await db.rootSql(`CREATE DATABASE ${name}; GRANT ALL PRIVILEGES ON ${name}.* TO '${USERS.full.user}'@'127.0.0.1'`);
    const url = db.url(USERS.full, name);
    await db.stop();
    const a = await FluksoServer.start({ dataDir: dir, port: 0, dbUrl: url, onError: () => undefined });
    try {
      assert.equal((await http(a.url, 'GET', 'health')).status, 503);
      assert.equal((await post(a, S1, [[T0, 1]])).status, 404);
      await db.resume();
      await until('/health answers 200', async () => (await http(a.url, 'GET', 'health')).status === 200);
      const cli = await openDbRegistry(url);
      await cli.addUser('alice');
      await cli.addDevice(DID, KEY, 'alice', [S1]);
      await cli.close();
      await until('the device is known', async () => (await post(a, S1, [[T0, 1]])).status === 200);
      assert.equal(await db.scalar(`SELECT COUNT(*) FROM ${name}.flm_srv_readings`), '1');
    } finally {
      await a.close();
    }
  });
});

test('a wrong password or a missing database stops the start with words that say so', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      FluksoServer.start({ dataDir: dir, port: 0, dbUrl: db.url({ user: USERS.full.user, password: 'wrong' }) }),
      /server database: authentication failed/,
    );
    await assert.rejects(
      FluksoServer.start({ dataDir: dir, port: 0, dbUrl: db.url(USERS.full, 'nosuch') }),
      /server database: .*(does not exist|privileges)/,
    );
  });
});

test('flm server --db: users, devices, shares and ls in the database, the same rules as the file registry', async () => {
  const name = 'cli';
  await db.rootSql(`CREATE DATABASE ${name}; GRANT ALL PRIVILEGES ON ${name}.* TO '${USERS.full.user}'@'127.0.0.1'`);
  const url = db.url(USERS.full, name);
  const alice = await runFlm(['server', 'user', 'add', 'alice', '--db', url]);
  assert.equal(alice.code, 0, alice.err);
  assert.match(alice.out, /^[0-9a-f]{32}\n$/);
  assert.equal((await runFlm(['server', 'user', 'add', 'bob', '--db', url])).code, 0);
  const again = await runFlm(['server', 'user', 'add', 'alice', '--db', url]);
  assert.equal(again.code, 1);
  assert.match(again.err, /exists already/);
  const dev = await runFlm(['server', 'device', 'add', DID, KEY, '--user', 'alice', '--sensor', S1, '--db', url]);
  assert.equal(dev.code, 0, dev.err);
  assert.match(dev.out, new RegExp(`^${S1} [0-9a-f]{32}\\n$`));
  const stolen = await runFlm(['server', 'device', 'add', DID, KEY, '--user', 'bob', '--db', url]);
  assert.equal(stolen.code, 1);
  assert.match(stolen.err, /belongs to alice/);
  assert.equal((await runFlm(['server', 'share', S1, '--with', 'bob', '--db', url])).code, 0);
  const ls = await runFlm(['server', 'ls', '--db', url]);
  assert.match(ls.out, new RegExp(`sensor ${S1}.*shared with bob`));
  assert.doesNotMatch(ls.out, new RegExp(alice.out.trim()));
  const reg = await openDbRegistry(url);
  try {
    assert.equal(reg.access(S1, alice.out.trim()), 'ok');
    const bob = reg.snapshot().users['bob']!.token;
    assert.equal(reg.access(S1, bob), 'ok');
    assert.equal(reg.access(S2, bob), 'forbidden');
    assert.equal(reg.access(S1, 'f'.repeat(32)), 'unknown-token');
  } finally {
    await reg.close();
  }
  const bad = await runFlm(['server', 'ls', '--db', db.url({ user: USERS.full.user, password: 'nope' }, name)]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /authentication failed/);
  assert.doesNotMatch(bad.err, /nope/);
});
