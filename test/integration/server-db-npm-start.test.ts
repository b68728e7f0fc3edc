/**
 * Two `FLM_MODE=server npm start` processes on one MariaDB database (FLM_SERVER_DB_URL), as
 * behind a load balancer (README "Several instances"): devices registered once with
 * `flm server --db`, an upload taken by the first and retried on the second stored once, reads on
 * either instance the same, `/health` 503 on both while the database is stopped and 200 again
 * after it is back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { xDigest } from '../../core/upload/digest';
import { openDbRegistry } from '../../core/server/db/open';
import { MariaDb } from '../support/mariadb';
import { freePort } from '../support/nodered';
import { startPipeline } from '../support/start-pipeline';
import { untilListening } from '../support/net';

const DID = 'a'.repeat(32);
const KEY = '0123456789abcdef0123456789abcdef';
const SID = 'b'.repeat(32);
const T0 = 1_700_000_000;

let db: MariaDb;
before(async () => {
  db = await MariaDb.start();
});
after(async () => {
  await db?.remove();
});

async function until(what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('two FLM_MODE=server npm start instances on one database: a retried upload stored once, reads alike, 503 while the database is away', async () => {
  const cli = await openDbRegistry(db.url());
  const token = await cli.addUser('alice');
  await cli.addDevice(DID, KEY, 'alice', [SID]);
  await cli.close();
  const env = async () => ({
    FLM_MODE: 'server',
    FLM_SERVER_DB_URL: db.url(),
    FLM_BRIDGE_PORT: String(await freePort()),
    FLM_ADMIN_PASSWORD: 'a-long-enough-password-for-tests',
  });
  const a = await startPipeline(await env());
  const b = await startPipeline(await env());
  try {
    await untilListening(a.api, a.run.output, '127.0.0.1', 60_000);
    await untilListening(b.api, b.run.output, '127.0.0.1', 60_000);
    const base = (p: { api: number }) => `http://127.0.0.1:${p.api}`;
    const body = JSON.stringify({ measurements: Array.from({ length: 60 }, (_, i) => [T0 + i * 60, 100 + i]) });
    const post = (p: { api: number }) =>
      fetch(`${base(p)}/sensor/${SID}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Version': '1.0', 'X-Digest': xDigest(KEY, body) },
        body,
      });
    // The registry is read from the database once it answers.
    await until('instance A takes the upload', async () => (await post(a)).status === 200);
    assert.equal((await post(b)).status, 200);
    assert.equal(await db.scalar('SELECT COUNT(*) FROM flm_srv_readings'), '60');
    const read = async (p: { api: number }) =>
      (
        await fetch(`${base(p)}/sensor/${SID}?start=${T0}&end=${T0 + 3600}&resolution=900&version=1.0&token=${token}`)
      ).text();
    const fromA = await read(a);
    assert.match(fromA, /^\[\[/);
    assert.equal(await read(b), fromA);

    await db.stop();
    for (const p of [a, b]) await until('/health 503', async () => (await fetch(`${base(p)}/health`)).status === 503);
    assert.equal((await post(b)).status, 503);
    await db.resume();
    for (const p of [a, b]) await until('/health 200', async () => (await fetch(`${base(p)}/health`)).status === 200);
    assert.equal((await post(b)).status, 200);
    assert.equal(await db.scalar('SELECT COUNT(*) FROM flm_srv_readings'), '60');
    assert.ok(!a.run.output().includes(db.url()), 'the password is not printed');
  } finally {
    await a.run.stop();
    await b.run.stop();
    await a.dir.remove();
    await b.dir.remove();
  }
});
