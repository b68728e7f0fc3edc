import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../../core/util/prng';
import { UploadClient } from '../../core/upload/client';
import { UploadQueue } from '../../core/upload/queue';
import type { Reading } from '../../core/upload/reading';
import { Uploader, type UploadEvent } from '../../core/upload/uploader';
import { FluksoTestServer, type Faults } from '../support/flukso-server';
import { VirtualClock } from '../support/clock';
import { KEY } from '../unit/upload/support';

const DEVICE = 'fed676021dacaaf6a12a8dda7685be34';
const SIDS = [
  'b0000000000000000000000000000001',
  'b0000000000000000000000000000002',
  'b0000000000000000000000000000003',
  'b0000000000000000000000000000004',
];
const T0 = 1449986400;
const MIN = 60_000;

interface Phase {
  minutes: number;
  faults?: Faults;
  down?: boolean;
  /** readings keep coming */
  appending: boolean;
}

/**
 * Run the uploader on simulated time against the real loopback server: readings every 5 s per
 * sensor, the phases' faults, then wait (simulated) until the queue is empty.
 */
async function simulate(phases: Phase[], seed: number) {
  const root = await fs.mkdtemp(join(tmpdir(), 'flm-upload-outage-'));
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE, key: KEY, sensors: SIDS }], seed });
  const clock = new VirtualClock(T0 * 1000);
  const queue = await UploadQueue.open({ dir: root });
  const client = new UploadClient({ baseUrl: server.url, deviceKey: KEY, timeoutMs: 5000 });
  const events: Array<UploadEvent & { at: number }> = [];
  const up = new Uploader({
    queue,
    client,
    clock,
    filters: false,
    batchSize: 100,
    random: prng(seed + 1),
    onEvent: (e) => events.push({ ...e, at: clock.now() }),
  });
  const appended = new Map<string, Reading[]>(SIDS.map((s) => [s, []]));
  const marks: Array<{ at: number; phase: number }> = [];
  try {
    up.start();
    let ts = T0;
    let counter = 0;
    for (const [p, phase] of phases.entries()) {
      marks.push({ at: clock.now(), phase: p });
      if (phase.down) await server.down('refuse');
      else {
        await server.up();
        server.setFaults(phase.faults ?? {}, seed + p);
      }
      for (let step = 0; step < phase.minutes * 6; step++) {
        if (phase.appending) {
          await Promise.all(
            SIDS.map((sid) => {
              const rs: Reading[] = [
                [ts, counter],
                [ts + 5, counter + 1],
              ];
              appended.get(sid)!.push(...rs);
              return queue.appendMany(sid, rs);
            }),
          );
          ts += 10;
          counter += 2;
        }
        await clock.advance(10_000, () => up.idle());
      }
    }
    const drainedBy = clock.now() + 6 * 60 * MIN;
    for (let i = 0; i < 6 * 60 && up.state().depth > 0; i++) await clock.advance(MIN, () => up.idle());
    const drainedAt = clock.now();
    await up.stop();
    assert.ok(drainedAt <= drainedBy, 'drained within six simulated hours of the end');
    return { server, appended, events, marks, up };
  } finally {
    await up.stop();
    await queue.close();
    client.close();
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  }
}

test('outage: 50 % failures, a simulated hour fully down, 50 % again: every reading arrives exactly once per (sid, ts)', async () => {
  const half: Faults = { failRate: 0.5, failStatus: 500 };
  const { server, appended, events, marks, up } = await simulate(
    [
      { minutes: 30, faults: half, appending: true },
      { minutes: 60, down: true, appending: true },
      { minutes: 30, faults: half, appending: true },
      { minutes: 0, faults: half, appending: false },
    ],
    4242,
  );
  for (const sid of SIDS) {
    assert.deepEqual(server.readings(sid), appended.get(sid), `${sid}: every reading, with its counter`);
  }
  assert.equal(server.duplicates(), 0, 'nothing the server acknowledged was sent again');
  assert.ok((server.stats.byStatus[500] ?? 0) > 20, `the dice failed requests (${server.stats.byStatus[500]})`);

  const downFrom = marks[1]!.at;
  const downTo = marks[2]!.at;
  assert.equal(downTo - downFrom, 60 * MIN);
  for (const sid of SIDS) {
    const tries = events.filter((e) => e.kind === 'failed' && e.sid === sid && e.at >= downFrom && e.at < downTo);
    // 5 s doubling to a 300 s cap: a handful of quick tries, then about one per 150-300 s.
    assert.ok(tries.length >= 10 && tries.length <= 40, `${sid}: ${tries.length} tries in the hour down`);
    const firstTry = events.find(
      (e) => e.sid === sid && (e.kind === 'posted' || e.kind === 'failed') && e.at >= downTo,
    );
    assert.ok(
      firstTry && firstTry.at - downTo <= 5 * MIN,
      `${sid}: trying again within the backoff cap of the server coming back`,
    );
  }
  const st = up.state();
  assert.equal(st.depth, 0);
  assert.ok(st.lastSuccess !== undefined);
});

test('lost acknowledgements (server stored, reply lost): sent again, the server still has one value per (sid, ts)', async () => {
  const { server, appended } = await simulate(
    [
      { minutes: 20, faults: { failRate: 0.3, resetRate: 0.2, afterStore: true }, appending: true },
      { minutes: 0, appending: false },
    ],
    99,
  );
  for (const sid of SIDS) assert.deepEqual(server.readings(sid), appended.get(sid));
  assert.ok(server.duplicates() > 0, 'repeats happened and were counted, not stored twice');
});
