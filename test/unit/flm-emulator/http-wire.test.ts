import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { flmDigest } from '../../support/flm-emulator/digest';
import { heartbeatBody, measurementsBody, requestBytes } from '../../support/flm-emulator/http-request';
import { HttpUploader } from '../../support/flm-emulator/http-uploader';
import { heartbeatFields, sendHeartbeat } from '../../support/flm-emulator/heartbeat';

const KEY = 'fedcba9876543210fedcba9876543210';
const SID_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
const SID_B = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2';

test('X-Digest is HMAC-SHA1 keyed with the ASCII of the hex key (value from `openssl dgst -sha1 -hmac`)', () => {
  const body = '{"measurements":[[1449999999,123456],[1450000059,123460]]}';
  assert.equal(flmDigest(KEY, body), 'a30ca5932d1f149acf7bd0cb2eeb62ca5648e4f5');
  assert.equal(flmDigest(KEY, '{"upgrade":0,"timestamp":1450000000}'), '9fb8caddfa781acef27f10016ca7c45d513079bd');
  // not the decoded 16 bytes
  assert.notEqual(flmDigest(Buffer.from(KEY, 'hex').toString('latin1'), body), flmDigest(KEY, body));
});

test('the measurement body is compact [[ts,counter],...] with integer counters only', () => {
  assert.equal(
    measurementsBody([
      [1449999999, 123456],
      [1450000059, 123460],
    ]),
    '{"measurements":[[1449999999,123456],[1450000059,123460]]}',
  );
  assert.equal(measurementsBody([]), '{"measurements":[]}');
  assert.throws(() => measurementsBody([[1449999999, 1.5]]), /integer counters/);
});

test('a sensor POST is byte for byte the request line, Host, the six headers in order, CRLFs, the body', () => {
  const body = '{"measurements":[[1449999999,123456],[1450000059,123460]]}';
  const bytes = requestBytes({
    host: 'api.flukso.net',
    path: `/sensor/${SID_A}`,
    version: 250,
    connection: 'keep-alive',
    keyHex: KEY,
    body,
  });
  assert.equal(
    bytes.toString('latin1'),
    `POST /sensor/${SID_A} HTTP/1.1\r\n` +
      'Host: api.flukso.net\r\n' +
      'Content-Type: application/json\r\n' +
      'X-Version: 1.0\r\n' +
      'User-Agent: Fluksometer v250\r\n' +
      'Connection: keep-alive\r\n' +
      'Content-Length: 58\r\n' +
      'X-Digest: a30ca5932d1f149acf7bd0cb2eeb62ca5648e4f5\r\n' +
      '\r\n' +
      body,
  );
});

test("the heartbeat body carries heartbeat.lua's fields in order", () => {
  const text = heartbeatBody(heartbeatFields(250, 1450000000, 3600, 0));
  assert.deepEqual(Object.keys(JSON.parse(text)), [
    'reset',
    'version',
    'time',
    'uptime',
    'memtotal',
    'memcached',
    'membuffers',
    'memfree',
    'syslog',
    'ip',
    'port',
  ]);
  assert.match(text, /^\{"reset":0,"version":250,"time":1450000000,"uptime":3600,/);
});

interface Captured {
  raw: string;
  connections: number;
}

/** A raw TCP server that records exactly what arrives and answers each request as `answer` says. */
async function rawServer(
  answer: (req: string) => string,
): Promise<{ port: number; got: Captured; close: () => Promise<void> }> {
  const got: Captured = { raw: '', connections: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    got.connections++;
    sockets.add(s);
    let pending = '';
    s.on('data', (d) => {
      got.raw += d.toString('latin1');
      pending += d.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/Content-Length: (\d+)/.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + len) return;
        const req = pending.slice(0, end + 4 + len);
        pending = pending.slice(end + 4 + len);
        s.write(answer(req));
        if (/Connection: close/.test(req)) s.end();
      }
    });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    got,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const ok = (body = '{"response":"ok"}') =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

test('one upload round: a POST per sensor with data on one connection, keep-alive then close; buffers kept until a 200', async () => {
  let fail = true;
  const srv = await rawServer((req) =>
    fail && req.includes(SID_B) ? 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n' : ok(),
  );
  try {
    const up = new HttpUploader({
      endpoint: { host: '127.0.0.1', port: srv.port },
      host: `127.0.0.1:${srv.port}`,
      version: 250,
      keyHex: KEY,
      sids: [SID_A, SID_B],
      startedAt: 1450000000,
    });
    await up.push(SID_A, 1450000010, 100, 1450000010);
    await up.push(SID_B, 1450000020, 7, 1450000020);
    assert.equal(srv.got.raw, '', 'nothing before the 300 s threshold');
    await up.push(SID_A, 1450000301, 101, 1450000301);
    const requests = srv.got.raw.split(/(?=POST )/);
    assert.equal(requests.length, 2);
    assert.equal(srv.got.connections, 1, 'both POSTs on one connection');
    const bodyA = '{"measurements":[[1450000010,100],[1450000301,101]]}';
    assert.equal(
      requests[0],
      `POST /sensor/${SID_A} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\nX-Version: 1.0\r\n` +
        `User-Agent: Fluksometer v250\r\nConnection: keep-alive\r\nContent-Length: ${bodyA.length}\r\nX-Digest: ${flmDigest(KEY, bodyA)}\r\n\r\n${bodyA}`,
    );
    assert.match(
      requests[1]!,
      new RegExp(
        `^POST /sensor/${SID_B} HTTP/1.1\r\n[^]*Connection: close\r\n[^]*\r\n\r\n\\{"measurements":\\[\\[1450000020,7\\]\\]\\}$`,
      ),
    );
    assert.equal(up.buffered(), 1, "B's reading stays after the 500");
    fail = false;
    await up.push(SID_A, 1450000700, 102, 1450000700);
    assert.deepEqual([...(up.acked.get(SID_B) ?? [])], [[1450000020, 7]], JSON.stringify(up.posts));
    assert.equal(up.buffered(), 0);
    up.close();
  } finally {
    await srv.close();
  }
});

test('the heartbeat counts only a 200 whose X-Digest is the HMAC of the reply body', async () => {
  const body = '{"upgrade":0,"timestamp":1450000000}';
  let digest = flmDigest(KEY, body);
  const srv = await rawServer(
    () => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Digest: ${digest}\r\n\r\n${body}`,
  );
  try {
    const endpoint = { host: '127.0.0.1', port: srv.port };
    const fields = heartbeatFields(250, 1450000000, 10, 1);
    assert.deepEqual(await sendHeartbeat(endpoint, 'h', 'd'.repeat(32), KEY, fields), {
      ok: true,
      upgrade: 0,
      timestamp: 1450000000,
    });
    assert.match(
      srv.got.raw,
      new RegExp(`^POST /device/${'d'.repeat(32)} HTTP/1.1\r\nHost: h\r\n[^]*Connection: close\r\n`),
    );
    digest = flmDigest(KEY, body + ' ');
    assert.deepEqual(await sendHeartbeat(endpoint, 'h', 'd'.repeat(32), KEY, fields), {
      ok: false,
      reason: 'digest',
      status: 200,
    });
  } finally {
    await srv.close();
  }
});
