import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../../core/util/prng';
import { UploadClient } from '../../core/upload/client';
import { UploadQueue } from '../../core/upload/queue';
import type { Reading } from '../../core/upload/reading';
import { Uploader } from '../../core/upload/uploader';
import { FluksoTestServer } from '../support/flukso-server';
import type { DrainerArgs } from '../support/children/upload-drainer';
import { KEY } from '../unit/upload/support';

const KILLS = 24;
const DEVICE = 'fed676021dacaaf6a12a8dda7685be34';
const SIDS = [
  'd0000000000000000000000000000001',
  'd0000000000000000000000000000002',
  'd0000000000000000000000000000003',
  'd0000000000000000000000000000004',
];
const T0 = 1449986400;
const PER_SENSOR = 30_000;
const BATCH = 50;
const COMMIT_MAX_RECORDS = 500;
/**
 * What one crash may make the queue send again per sensor: the acknowledged readings whose
 * pointer was not on disk yet, at most 2 x (commitMaxRecords + batch), and the batch whose POST
 * the server took when the process died before the reply.
 */
const RESEND_BOUND = 2 * (COMMIT_MAX_RECORDS + BATCH) + BATCH;
const counterOf = (sensor: number, ts: number) => sensor * 10_000_000 + (ts - T0) * 7;

/**
 * Start the drainer, SIGKILL it `ms` after it is up, or, with `sending`, `ms` after the server
 * has first stored something from this run: a loaded machine can take longer than `ms` to get
 * the first POST out, and a kill before it tests the opening, not the drain.
 */
function runAndKill(args: DrainerArgs, ms: number, sending?: () => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, '..', 'support', 'children', 'upload-drainer.js'), JSON.stringify(args)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    let watch: NodeJS.Timeout | undefined;
    const killIn = () => (timer = setTimeout(() => child.kill('SIGKILL'), ms));
    child.stdout.on('data', (d: Buffer) => {
      if (!d.toString().includes('ready') || timer || watch) return;
      if (!sending) return void killIn();
      watch = setInterval(() => {
        if (!sending()) return;
        clearInterval(watch);
        killIn();
      }, 2);
    });
    child.stderr.on('data', (d) => (err += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearInterval(watch);
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`drainer exited by itself (${code}): ${err}`));
      resolve(err.split('\n').filter((l) => l.length > 0));
    });
  });
}

/** What a queue still holds, per sensor, read from a copy so the real one is left as the kill left it. */
async function pendingIn(dataDir: string, scratch: string): Promise<Map<string, Reading[]>> {
  await fs.rm(scratch, { recursive: true, force: true });
  await fs.cp(dataDir, scratch, { recursive: true });
  const q = await UploadQueue.open({ dir: scratch });
  const out = new Map<string, Reading[]>(SIDS.map((s) => [s, []]));
  for (const sid of q.sids()) {
    for (let i = 0; i < 100_000; i++) {
      const b = await q.peek(sid, 5000);
      if (!b) break;
      out.get(sid)!.push(...b.readings);
      await q.ack(b);
    }
  }
  await q.close();
  return out;
}

test(
  `upload drain: ${KILLS} SIGKILLs while a backlog drains with deferred pointer writes lose and skip nothing, and re-send within the bound`,
  { timeout: 180_000 },
  async () => {
    const root = await fs.mkdtemp(join(tmpdir(), 'flm-upload-drain-crash-'));
    // Each reply waits a little, so the backlog takes seconds to drain and the kills land mid-drain.
    const server = await FluksoTestServer.start({ devices: [{ id: DEVICE, key: KEY, sensors: SIDS }] });
    server.setFaults({ delayMs: 8 });
    const rnd = prng(5150);
    const dataDir = join(root, 'queue');
    const args: DrainerArgs = {
      dataDir,
      url: server.url,
      key: KEY,
      batchSize: BATCH,
      commitMaxRecords: COMMIT_MAX_RECORDS,
      commitIntervalMs: 1000,
    };
    try {
      const fill = await UploadQueue.open({ dir: dataDir });
      const expected = SIDS.map((_, i) =>
        Array.from({ length: PER_SENSOR }, (_, k): Reading => [T0 + k, counterOf(i, T0 + k)]),
      );
      for (const [i, sid] of SIDS.entries())
        assert.equal((await fill.appendMany(sid, expected[i]!)).queued, PER_SENSOR);
      await fill.close();

      let killsMidDrain = 0;
      let worstResend = 0;
      const warnings: string[] = [];
      for (let k = 0; k < KILLS; k++) {
        const dupesBefore = SIDS.map((sid) => server.duplicates(sid));
        const storedBefore = SIDS.reduce((n, sid) => n + server.count(sid), 0);
        // Sometimes at once (while it opens the queue), mostly while it sends.
        const stored = () => SIDS.reduce((n, sid) => n + server.count(sid), 0);
        // (with the backlog all sent there is nothing to wait for)
        const sending = () => stored() > storedBefore || stored() >= SIDS.length * PER_SENSOR;
        const atOnce = rnd() < 0.2;
        warnings.push(
          ...(await (atOnce
            ? runAndKill(args, Math.floor(rnd() * 15))
            : runAndKill(args, Math.floor(rnd() * 250), sending))),
        );
        const pending = await pendingIn(dataDir, join(root, 'scratch'));
        for (const [i, sid] of SIDS.entries()) {
          // Nothing lost, nothing skipped: what the server lacks, the queue holds, in order, and
          // the queue holds nothing out of order or made up.
          const onServer = new Map(server.readings(sid));
          const missing = expected[i]!.filter(([ts]) => !onServer.has(ts));
          const queued = pending.get(sid)!;
          const queuedTs = new Set(queued.map(([ts]) => ts));
          const lost = missing.filter(([ts]) => !queuedTs.has(ts));
          assert.deepEqual(
            lost.slice(0, 3),
            [],
            `after kill ${k + 1}: ${lost.length} readings of ${sid} neither on the server nor queued`,
          );
          const firstQueued = PER_SENSOR - queued.length;
          assert.deepEqual(
            queued,
            expected[i]!.slice(firstQueued),
            `after kill ${k + 1}: ${sid} queue holds a tail of the backlog`,
          );
          for (const [ts, counter] of onServer) assert.equal(counter, counterOf(i, ts));
          const resent = server.duplicates(sid) - dupesBefore[i]!;
          worstResend = Math.max(worstResend, resent);
          assert.ok(
            resent <= RESEND_BOUND,
            `run ${k + 1}: ${resent} readings of ${sid} sent again (bound ${RESEND_BOUND})`,
          );
        }
        const storedAfter = SIDS.reduce((n, sid) => n + server.count(sid), 0);
        if (storedAfter > storedBefore && storedAfter < SIDS.length * PER_SENSOR) killsMidDrain++;
      }
      assert.ok(killsMidDrain >= KILLS / 2, `most kills landed mid-drain (${killsMidDrain})`);
      assert.ok(
        server.duplicates() > 0,
        'kills between a POST and the pointer write happened, and the readings came again',
      );

      // Drain what is left, in this process.
      server.setFaults({});
      const queue = await UploadQueue.open({ dir: dataDir });
      const client = new UploadClient({ baseUrl: server.url, deviceKey: KEY });
      const up = new Uploader({ queue, client, filters: false, intervalMs: 50, batchSize: 1000 });
      up.start();
      for (let i = 0; i < 400 && up.state().depth > 0; i++) await new Promise((r) => setTimeout(r, 25));
      await up.stop();
      assert.equal(up.state().depth, 0, 'the queue drained');
      await queue.close();
      client.close();
      for (const [i, sid] of SIDS.entries())
        assert.deepEqual(server.readings(sid), expected[i], `${sid}: every reading once, with its counter`);
      const segs = (await Promise.all(SIDS.map((sid) => fs.readdir(join(dataDir, sid)))))
        .flat()
        .filter((n) => n.endsWith('.seg'));
      assert.deepEqual(segs, [], 'every segment acknowledged and compacted away');
      console.log(
        `# ${KILLS} kills (${killsMidDrain} mid-drain), ${server.duplicates()} readings sent again in all, at most ${worstResend} of one sensor in one run (bound ${RESEND_BOUND}), ${warnings.length} warnings`,
      );
    } finally {
      await server.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  },
);
