import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { UploadClient } from '../../../core/upload/client';
import { FluksoTestServer } from '../../support/flukso-server';
import { DEVICE, KEY, SID_A, SID_B, WRONG_KEY, series, T0 } from './support';

async function withServer(
  fn: (s: FluksoTestServer, client: (opts?: { key?: string; timeoutMs?: number }) => UploadClient) => Promise<void>,
  opts: { successStatus?: 200 | 204 } = {},
) {
  const server = await FluksoTestServer.start({
    devices: [{ id: DEVICE, key: KEY, sensors: [SID_A, SID_B] }],
    seed: 7,
    ...opts,
  });
  const clients: UploadClient[] = [];
  try {
    await fn(server, (o = {}) => {
      const c = new UploadClient({ baseUrl: server.url, deviceKey: o.key ?? KEY, timeoutMs: o.timeoutMs ?? 5000 });
      clients.push(c);
      return c;
    });
  } finally {
    clients.forEach((c) => c.close());
    await server.close();
  }
}

test('200 and 204 are success; the server has the readings once', async () => {
  await withServer(async (server, client) => {
    const c = client();
    const out = await c.postMeasurements(SID_A, series(T0, 5));
    assert.deepEqual(out, { kind: 'ok', url: `${server.url}sensor/${SID_A}`, status: 200 });
    assert.deepEqual(server.readings(SID_A), series(T0, 5));
    assert.equal((await c.postMeasurements(SID_A, series(T0, 5))).kind, 'ok');
    assert.equal(server.duplicates(SID_A), 5, 'the server counts what came twice');
    assert.equal(server.count(SID_A), 5);
  });
  await withServer(
    async (server, client) => {
      const out = await client().postMeasurements(SID_B, series(T0, 3));
      assert.equal(out.kind, 'ok');
      assert.equal(out.kind === 'ok' && out.status, 204);
      assert.equal(server.count(SID_B), 3);
    },
    { successStatus: 204 },
  );
});

test('a wrong key is auth-failed with the status and a body excerpt; so is a refused key', async () => {
  await withServer(async (server, client) => {
    const out = await client({ key: WRONG_KEY }).postMeasurements(SID_A, series(T0, 2));
    assert.equal(out.kind, 'auth-failed');
    assert.equal(out.kind === 'auth-failed' && out.status, 401);
    assert.match(out.kind === 'auth-failed' ? out.excerpt : '', /digest mismatch/);
    server.denyKey(KEY);
    const denied = await client().postMeasurements(SID_A, series(T0, 2));
    assert.equal(denied.kind, 'auth-failed');
    assert.equal(server.count(SID_A), 0);
  });
});

test('server errors, resets, refused connections and timeouts are "retry", never thrown', async () => {
  await withServer(async (server, client) => {
    const c = client({ timeoutMs: 300 });
    server.setFaults({ failRate: 1, failStatus: 500 });
    const e500 = await c.postMeasurements(SID_A, series(T0, 2));
    assert.equal(e500.kind, 'retry');
    assert.equal(e500.kind === 'retry' && e500.status, 500);
    assert.match((e500.kind === 'retry' && e500.excerpt) || '', /injected/);

    server.setFaults({ resetRate: 1 });
    const reset = await c.postMeasurements(SID_A, series(T0, 2));
    assert.equal(reset.kind, 'retry');
    assert.match(reset.kind === 'retry' ? reset.error : '', /ECONNRESET|socket hang up/);

    server.setFaults({ hangRate: 1 });
    const t0 = Date.now();
    const hung = await c.postMeasurements(SID_A, series(T0, 2));
    assert.deepEqual(hung.kind === 'retry' && hung.error, 'timed out');
    assert.ok(Date.now() - t0 < 3000, 'the timeout cut the request');

    server.setFaults({ delayMs: 100 });
    assert.equal((await c.postMeasurements(SID_A, series(T0, 2))).kind, 'ok', 'slow but within the timeout');

    server.setFaults({});
    await server.down('503');
    const d503 = await c.postMeasurements(SID_A, series(T0 + 10, 2));
    assert.equal(d503.kind === 'retry' && d503.status, 503);
    await server.up();
    await server.down('refuse');
    const refused = await c.postMeasurements(SID_A, series(T0 + 10, 2));
    assert.equal(refused.kind, 'retry');
    assert.match(
      refused.kind === 'retry' ? refused.error : '',
      /ECONNREFUSED|ECONNRESET/,
      'refused, or the dropped kept-alive socket',
    );
    await server.up();
    assert.equal((await c.postMeasurements(SID_A, series(T0 + 10, 2))).kind, 'ok', 'back up on the same port');

    const ac = new AbortController();
    ac.abort();
    const aborted = await c.postMeasurements(SID_A, series(T0 + 20, 2), ac.signal);
    assert.equal(aborted.kind === 'retry' && aborted.error, 'aborted');
    assert.equal(server.count(SID_A), 4);
  });
});

test('an unknown sensor or a malformed request is "retry" with its status (data is never dropped for it)', async () => {
  await withServer(async (_server, client) => {
    const out = await client().postMeasurements('ffffffffffffffffffffffffffffffff', series(T0, 1));
    assert.equal(out.kind === 'retry' && out.status, 404);
  });
});

test('a long-lived signal given with every POST cuts the one under way, and keeps nothing of the others', async () => {
  await withServer(async (server, client) => {
    const c = client({ timeoutMs: 5000 });
    const ac = new AbortController();
    for (let i = 0; i < 200; i++)
      assert.equal((await c.postMeasurements(SID_A, series(T0 + 2 * i, 2), ac.signal)).kind, 'ok');
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'no listener left behind');
    // AbortSignal.any() would leave one entry per POST in the long-lived signal (nodejs/node#55351).
    const dependants = Object.getOwnPropertySymbols(ac.signal).find((s) => s.description === 'kDependantSignals');
    const held = dependants
      ? ((ac.signal as unknown as Record<symbol, { size?: number } | undefined>)[dependants]?.size ?? 0)
      : 0;
    assert.equal(held, 0, 'nothing held per POST');

    server.setFaults({ hangRate: 1 });
    const hanging = c.postMeasurements(SID_A, series(T0 + 1000, 2), ac.signal);
    for (let i = 0; i < 200 && !server.log.some((r) => r.fault === 'hang'); i++)
      await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    const out = await hanging;
    assert.equal(out.kind === 'retry' && out.error, 'aborted');
  });
});
