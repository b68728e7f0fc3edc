import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createApiHandler } from '../../../core/api/router';
import { createApiServer } from '../../../core/api/server';
import { registerHealth } from '../../../core/util/health';
import { RecentGauges, type GaugeSource } from '../../../core/api/recent-gauges';
import type { TmpoReader } from '../../../core/api/blocks';
import { SID_A, TOKEN_A, withServer } from './support';

const NOW = 1468006400;
const LOCAL = '?version=1.0&interval=minute&unit=watt';

function gaugesWith(sid: string, value: number): RecentGauges {
  const g = new RecentGauges();
  g.push(sid, NOW, value, 'W');
  return g;
}

test('router: 404 for other paths, 405 for other methods on ours, HEAD like GET without a body', async () => {
  await withServer({ gauges: gaugesWith(SID_A, 5), now: () => NOW }, async (base) => {
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200, 'the root says what is served');
    assert.match(await index.text(), /^GET \/sensor\/<sid>\?version=1\.0&interval=minute/m);
    for (const path of [
      '/nope',
      '/sensor',
      `/sensor/${SID_A}/`,
      `/sensor/${SID_A}/tmpo`,
      '/sensor/XYZ',
      `/sensor/${SID_A}/tmpo/sync/x`,
    ]) {
      const r = await fetch(base + path + LOCAL);
      assert.equal(r.status, 404, path);
      assert.equal(await r.text(), 'Not Found', path);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await fetch(`${base}/sensor/${SID_A}${LOCAL}`, { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
    }
    assert.equal((await fetch(`${base}/sensor/${SID_A}/tmpo/sync`, { method: 'POST' })).status, 405);
    const head = await fetch(`${base}/sensor/${SID_A}${LOCAL}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(`[[${NOW},5]]`)));
  });
});

test('router: an endpoint that throws answers 500 with a short text, is reported, and the server stays up', async () => {
  const errors: unknown[] = [];
  let mode: 'throw' | 'reject' | 'ok' = 'throw';
  const gauges: GaugeSource = {
    series: () => {
      if (mode === 'throw') throw new Error('ring on fire');
      return [[NOW, 1]];
    },
  };
  const store: TmpoReader = {
    list: () => (mode === 'reject' ? Promise.reject(new Error('disk gone')) : Promise.resolve([])),
    read: () => Promise.resolve(undefined),
  };
  await withServer(
    { gauges, store, tokens: { [SID_A]: TOKEN_A }, now: () => NOW, onError: (err) => errors.push(err) },
    async (base) => {
      const r = await fetch(`${base}/sensor/${SID_A}${LOCAL}`);
      assert.equal(r.status, 500);
      assert.equal(await r.text(), 'Internal Server Error');
      mode = 'reject';
      const sync = await fetch(`${base}/sensor/${SID_A}/tmpo/sync?rid=0&lvl=0&bid=0`, {
        headers: { 'X-Version': '1.0', 'X-Token': TOKEN_A },
      });
      assert.equal(sync.status, 500);
      assert.deepEqual(
        errors.map((e) => (e as Error).message),
        ['ring on fire', 'disk gone'],
      );
      mode = 'ok';
      assert.equal((await fetch(`${base}/sensor/${SID_A}${LOCAL}`)).status, 200);
    },
  );
});

test('router: a reporter that throws changes nothing; a store still opening answers 503', async () => {
  let opened: TmpoReader | undefined;
  await withServer(
    {
      store: () => opened,
      tokens: { [SID_A]: TOKEN_A },
      gauges: {
        series: () => {
          throw new Error('x');
        },
      },
      onError: () => {
        throw new Error('reporter broke');
      },
    },
    async (base) => {
      assert.equal((await fetch(`${base}/sensor/${SID_A}${LOCAL}`)).status, 500);
      const h = { 'X-Version': '1.0', 'X-Token': TOKEN_A };
      const r = await fetch(`${base}/sensor/${SID_A}/tmpo/sync?rid=0&lvl=0&bid=0`, { headers: h });
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '5');
      opened = { list: async () => [], read: async () => undefined };
      assert.equal(
        await (await fetch(`${base}/sensor/${SID_A}/tmpo/sync?rid=0&lvl=0&bid=0`, { headers: h })).text(),
        '[]',
      );
    },
  );
});

test('as express-style middleware: unknown paths go to next(), a base path is stripped', async () => {
  const handler = createApiHandler({ gauges: gaugesWith(SID_A, 7), now: () => NOW, basePath: '/flm/' });
  const server = createServer((req, res) => handler(req, res, () => res.writeHead(418).end('next')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const ok = await fetch(`${base}/flm/sensor/${SID_A}${LOCAL}`);
    assert.equal(await ok.text(), `[[${NOW},7]]`);
    const other = await fetch(`${base}/sensor/${SID_A}${LOCAL}`);
    assert.deepEqual([other.status, await other.text()], [418, 'next']);
    assert.equal((await fetch(`${base}/flm/elsewhere`)).status, 418);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('server: binds the host given, reports a busy port clearly, and closes within its bound despite a stuck client', async () => {
  const a = createApiServer({ host: '127.0.0.1', port: 0 });
  const { host, port } = await a.listen();
  assert.equal(host, '127.0.0.1');
  const b = createApiServer({ host: '127.0.0.1', port });
  await assert.rejects(b.listen(), new RegExp(`API port ${port} on 127.0.0.1 is already in use`));
  await b.close();

  // a client that sent half a request, and one on a kept-alive connection
  const stuck = connect(port, '127.0.0.1');
  await new Promise((r) => stuck.once('connect', r));
  stuck.write(`GET /sensor/${SID_A} HTTP/1.1\r\nHost: x\r\n`);
  stuck.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    request({ host: '127.0.0.1', port, path: '/x', agent: false, headers: { Connection: 'keep-alive' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    }).end();
  });
  const t0 = Date.now();
  await a.close(300);
  assert.ok(Date.now() - t0 < 1500, `closed in ${Date.now() - t0} ms`);
  assert.equal(a.port, undefined);
  const refused = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    refused.once('error', () => resolve());
    refused.once('connect', () => reject(new Error('still listening')));
  });
  stuck.destroy();
});

test('/health: 503 with nothing registered or a part down, 200 when every part can take data', async () => {
  await withServer({ now: () => NOW }, async (base) => {
    const none = await fetch(`${base}/health`);
    assert.equal(none.status, 503);
    assert.equal(none.headers.get('cache-control'), 'no-store');
    let up = true;
    const off = registerHealth({ name: 'broker', ok: () => up, detail: () => 'alone' });
    try {
      const ok = await fetch(`${base}/health`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { ok: true, parts: [{ name: 'broker', ok: true, detail: 'alone' }] });
      up = false;
      assert.equal((await fetch(`${base}/health`)).status, 503);
    } finally {
      off();
    }
  });
});
