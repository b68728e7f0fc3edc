import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadClient } from '../../core/upload/client';
import { UploadQueue } from '../../core/upload/queue';
import { Uploader, type UploadEvent } from '../../core/upload/uploader';
import { FluksoTestServer } from '../support/flukso-server';
import { VirtualClock } from '../support/clock';
import { KEY } from '../unit/upload/support';

const WRONG_KEY = '0123456789abcdef0123456789abcdef';
const DEVICE = 'fed676021dacaaf6a12a8dda7685be34';
const SIDS = ['c0000000000000000000000000000001', 'c0000000000000000000000000000002'];
const T0 = 1449986400;

test('a wrong key gets 401 and the "authentication failed" state, data kept; the right key drains the queue', async () => {
  const root = await fs.mkdtemp(join(tmpdir(), 'flm-upload-auth-'));
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE, key: KEY, sensors: SIDS }] });
  const clock = new VirtualClock(T0 * 1000);
  const queue = await UploadQueue.open({ dir: root });
  const client = new UploadClient({ baseUrl: server.url, deviceKey: WRONG_KEY });
  const events: UploadEvent[] = [];
  const up = new Uploader({ queue, client, clock, filters: false, batchSize: 250, onEvent: (e) => events.push(e) });
  try {
    const readings = Array.from({ length: 600 }, (_, i) => [T0 + i * 10, 5000 + i] as [number, number]);
    for (const sid of SIDS) await queue.appendMany(sid, readings);
    up.start();
    await clock.advance(1000, () => up.idle());
    const st = up.state();
    assert.equal(st.authFailed, true);
    assert.deepEqual(
      st.sensors.map((s) => [s.state, s.depth, s.lastError?.status]),
      [
        ['auth-failed', 600, 401],
        ['auth-failed', 600, 401],
      ],
    );
    assert.match(st.lastError?.message ?? '', /^authentication failed \(401\): .*digest mismatch/);
    assert.ok(events.some((e) => e.kind === 'auth-failed' && e.status === 401));

    // Hours pass: no retries with a key the server refuses.
    await clock.advance(12 * 3600_000, () => up.idle());
    assert.equal(server.stats.byStatus[401], 2, 'one refused POST per sensor, then nothing');
    assert.equal(queue.depth(SIDS[0]!) + queue.depth(SIDS[1]!), 1200, 'all data kept');

    // The right key: the queue drains at once, without waiting for a round.
    up.setKey(KEY);
    await clock.advance(0, () => up.idle());
    for (const sid of SIDS) assert.deepEqual(server.readings(sid), readings);
    const after = up.state();
    assert.equal(after.authFailed, false);
    assert.equal(after.depth, 0);
    assert.equal(after.lastSuccess, clock.now());
    assert.deepEqual(
      after.sensors.map((s) => s.state),
      ['idle', 'idle'],
    );
    assert.equal(server.stats.byStatus[200], 6, '600 readings in POSTs of at most 250, per sensor');
    assert.equal(server.duplicates(), 0);
  } finally {
    await up.stop();
    await queue.close();
    client.close();
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('a key the server refuses outright (denyKey) is also parked, and released by setKey', async () => {
  const root = await fs.mkdtemp(join(tmpdir(), 'flm-upload-auth-'));
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE, key: KEY, sensors: SIDS }] });
  const clock = new VirtualClock(T0 * 1000);
  const queue = await UploadQueue.open({ dir: root });
  const client = new UploadClient({ baseUrl: server.url, deviceKey: KEY });
  const up = new Uploader({ queue, client, clock, filters: false });
  try {
    server.denyKey(KEY);
    await queue.append(SIDS[0]!, [T0, 1]);
    up.start();
    await clock.advance(1000, () => up.idle());
    assert.equal(up.state().sensors[0]!.state, 'auth-failed');
    server.denyKey(KEY, false);
    up.setKey(KEY);
    await clock.advance(0, () => up.idle());
    assert.deepEqual(server.readings(SIDS[0]!), [[T0, 1]]);
    assert.equal(up.state().authFailed, false);
  } finally {
    await up.stop();
    await queue.close();
    client.close();
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  }
});
