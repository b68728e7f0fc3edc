import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UploadClient } from '../../../core/upload/client';
import {
  BAD_DIGEST_MESSAGE,
  sendHeartbeat,
  startHeartbeat,
  type HeartbeatResult,
} from '../../../core/upload/heartbeat';
import { FluksoTestServer } from '../../support/flukso-server';
import { VirtualClock } from '../../support/clock';
import { DEVICE, KEY, SID_A, WRONG_KEY } from './support';

async function withServer(fn: (s: FluksoTestServer, c: UploadClient) => Promise<void>) {
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE, key: KEY, sensors: [SID_A] }] });
  const client = new UploadClient({ baseUrl: server.url, deviceKey: KEY, timeoutMs: 3000 });
  try {
    await fn(server, client);
  } finally {
    client.close();
    await server.close();
  }
}

test('a heartbeat sends the FLM heartbeat fields and takes a reply whose digest is right', async () => {
  await withServer(async (server, client) => {
    const r = await sendHeartbeat({
      client,
      deviceId: DEVICE,
      reset: true,
      version: 250,
      port: 8080,
      now: () => 1450000000,
      syslog: 'hello',
    });
    assert.equal(r.kind, 'ok');
    assert.equal(r.kind === 'ok' && r.upgrade, 0);
    assert.equal(r.kind === 'ok' && r.offer, undefined);
    const [hb] = server.heartbeats;
    assert.ok(hb);
    assert.equal(hb.deviceId, DEVICE);
    assert.deepEqual(Object.keys(hb.body), [
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
    assert.equal(hb.body.reset, 1);
    assert.equal(hb.body.version, 250);
    assert.equal(hb.body.time, 1450000000);
    assert.equal(hb.body.port, 8080);
    assert.equal(gunzipSync(Buffer.from(String(hb.body.syslog), 'base64')).toString(), 'hello');
  });
});

test('a reply with a wrong or missing digest is rejected', async () => {
  await withServer(async (server, client) => {
    server.setHeartbeatReply({ digest: 'wrong', upgrade: 999 });
    const wrong = await sendHeartbeat({ client, deviceId: DEVICE, reset: false });
    assert.deepEqual(wrong, { kind: 'bad-digest', url: `${server.url}device/${DEVICE}`, message: BAD_DIGEST_MESSAGE });
    server.setHeartbeatReply({ digest: 'missing' });
    assert.equal((await sendHeartbeat({ client, deviceId: DEVICE, reset: false })).kind, 'bad-digest');
    // A key the server does not hold: refused before any reply is signed.
    server.setHeartbeatReply({ digest: 'good' });
    const other = new UploadClient({ baseUrl: server.url, deviceKey: WRONG_KEY });
    const refused = await sendHeartbeat({ client: other, deviceId: DEVICE, reset: false });
    assert.equal(refused.kind === 'http-error' && refused.status, 401);
    other.close();
    assert.equal(
      (await sendHeartbeat({ client, deviceId: DEVICE, reset: false })).kind,
      'ok',
      'and the right key with a good digest is taken',
    );
  });
});

test('an upgrade offer is reported and nothing is fetched or run', async () => {
  await withServer(async (server, client) => {
    server.setHeartbeatReply({ upgrade: 251 });
    const r = await sendHeartbeat({ client, deviceId: DEVICE, reset: false, version: 250 });
    assert.deepEqual(r.kind === 'ok' && r.offer, { kind: 'upgrade', version: 251 });
    server.setHeartbeatReply({ upgrade: 250 });
    const reboot = await sendHeartbeat({ client, deviceId: DEVICE, reset: false, version: 250 });
    assert.deepEqual(reboot.kind === 'ok' && reboot.offer, { kind: 'reboot', version: 250 });
    assert.deepEqual(
      server.log.map((l) => `${l.method} ${l.path}`),
      [`POST /device/${DEVICE}`, `POST /device/${DEVICE}`],
      'the only requests were the heartbeats',
    );
    // The module has no way to run anything: no process, shell or download code in it.
    const src = readFileSync(join(__dirname, '..', '..', '..', 'core', 'upload', 'heartbeat.js'), 'utf8');
    assert.doesNotMatch(src, /child_process|spawn|execFile|execSync|wget|fetch\(|writeFile|chmod|\.get\(/);
  });
});

test('non-200 and unreachable servers are reported, not thrown', async () => {
  await withServer(async (server, client) => {
    server.setFaults({ failRate: 1, failStatus: 503 });
    const r = await sendHeartbeat({ client, deviceId: DEVICE, reset: false });
    assert.equal(r.kind === 'http-error' && r.status, 503);
    server.setFaults({});
    await server.down('refuse');
    assert.equal((await sendHeartbeat({ client, deviceId: DEVICE, reset: false })).kind, 'network-error');
    await server.up();
  });
});

test('startHeartbeat: reset=1 first, then hourly reset=0, until stopped', async () => {
  await withServer(async (server, client) => {
    const clock = new VirtualClock(1450000000_000);
    const results: HeartbeatResult[] = [];
    let arrived: () => void = () => undefined;
    const waitResult = () => new Promise<void>((r) => (arrived = r));
    let next = waitResult();
    const loop = startHeartbeat({ client, deviceId: DEVICE, clock, onResult: (r) => (results.push(r), arrived()) });
    await next;
    for (let i = 0; i < 2; i++) {
      next = waitResult();
      // The next beat is armed once the last one ended; let that happen, then move an hour on.
      await new Promise((r) => setImmediate(r));
      await clock.advance(3600_000);
      await next;
    }
    loop.stop();
    await clock.advance(10 * 3600_000);
    assert.deepEqual(
      server.heartbeats.map((h) => h.body.reset),
      [1, 0, 0],
    );
    assert.ok(results.every((r) => r.kind === 'ok'));
  });
});
