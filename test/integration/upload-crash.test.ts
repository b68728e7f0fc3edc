import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../../core/util/prng';
import { UploadClient } from '../../core/upload/client';
import { UploadQueue } from '../../core/upload/queue';
import { Uploader } from '../../core/upload/uploader';
import { FluksoTestServer } from '../support/flukso-server';
import { writerCounter, type WriterArgs } from '../support/children/upload-writer';
import { KEY } from '../unit/upload/support';

const KILLS = 24;
const DEVICE = 'fed676021dacaaf6a12a8dda7685be34';
const SIDS = [
  'a0000000000000000000000000000001',
  'a0000000000000000000000000000002',
  'a0000000000000000000000000000003',
];

/** Start the writer, SIGKILL it `ms` after it is up; the readings it reported queued, and its warnings. */
function runAndKill(args: WriterArgs, ms: number): Promise<{ acked: Array<[number, number]>; warnings: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, '..', 'support', 'children', 'upload-writer.js'), JSON.stringify(args)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const acked: Array<[number, number]> = [];
    let buf = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') timer = setTimeout(() => child.kill('SIGKILL'), ms);
        else {
          const [, i, ts] = line.split(' ');
          acked.push([Number(i), Number(ts)]);
        }
      }
    });
    child.stderr.on('data', (d) => (err += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (${code}): ${err}`));
      resolve({ acked, warnings: err.split('\n').filter((l) => l.startsWith('warning:')) });
    });
  });
}

/** Append 1..19 bytes of garbage to the newest segment of a sensor; 1 when done. */
async function tearTail(sensorDir: string, rnd: () => number): Promise<number> {
  const segs = (await fs.readdir(sensorDir).catch(() => [] as string[])).filter((n) => n.endsWith('.seg')).sort();
  if (!segs.length) return 0;
  const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 19) }, () => Math.floor(rnd() * 256)));
  await fs.appendFile(join(sensorDir, segs.at(-1)!), bytes);
  return 1;
}

/** What a queue still holds, read from a copy so the real one is left as the kill left it. */
async function pendingIn(dataDir: string, scratch: string): Promise<Set<string>> {
  await fs.rm(scratch, { recursive: true, force: true });
  await fs.cp(dataDir, scratch, { recursive: true });
  const q = await UploadQueue.open({ dir: scratch });
  const out = new Set<string>();
  for (const sid of q.sids()) {
    for (let i = 0; i < 100_000; i++) {
      const b = await q.peek(sid, 5000);
      if (!b) break;
      for (const [ts] of b.readings) out.add(`${sid} ${ts}`);
      await q.ack(b);
    }
  }
  await q.close();
  return out;
}

test(`upload queue: ${KILLS} SIGKILLs of an appending, uploading process lose nothing that append() acknowledged`, async () => {
  const root = await fs.mkdtemp(join(tmpdir(), 'flm-upload-crash-'));
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE, key: KEY, sensors: SIDS }] });
  const rnd = prng(20261201);
  const dataDir = join(root, 'queue');
  const args: WriterArgs = { dataDir, url: server.url, key: KEY, sids: SIDS };
  try {
    const acked = new Set<string>();
    const warnings: string[] = [];
    let torn = 0;
    for (let k = 0; k < KILLS; k++) {
      // Sometimes at once (while it opens the queue and sends its first batches), mostly later.
      const r = await runAndKill(args, rnd() < 0.2 ? Math.floor(rnd() * 20) : 30 + Math.floor(rnd() * 250));
      for (const [i, ts] of r.acked) acked.add(`${SIDS[i]} ${ts}`);
      warnings.push(...r.warnings);
      // Now and then a torn write as a power cut leaves it: part of a record after the last one.
      if (k % 6 === 5) torn += await tearTail(join(dataDir, SIDS[k % SIDS.length]!), rnd);
      // After every kill, each acknowledged reading is on the server or still queued.
      const pending = await pendingIn(dataDir, join(root, 'scratch'));
      const onServer = new Set(SIDS.flatMap((sid) => server.readings(sid).map(([ts]) => `${sid} ${ts}`)));
      const lost = [...acked].filter((a) => !onServer.has(a) && !pending.has(a));
      assert.deepEqual(
        lost.slice(0, 5),
        [],
        `after kill ${k + 1}: ${lost.length} acknowledged readings neither queued nor on the server`,
      );
    }
    assert.ok(acked.size > KILLS * SIDS.length, `the writer made progress (${acked.size} readings)`);
    assert.ok(
      torn > 0 && warnings.some((w) => /torn record/.test(w)),
      'the torn tails were seen, and the writer went on',
    );

    // Drain what is left, in this process.
    const queue = await UploadQueue.open({ dir: dataDir });
    const client = new UploadClient({ baseUrl: server.url, deviceKey: KEY });
    const up = new Uploader({ queue, client, filters: false, intervalMs: 50, batchSize: 500 });
    up.start();
    for (let i = 0; i < 400 && up.state().depth > 0; i++) await new Promise((r) => setTimeout(r, 25));
    await up.stop();
    assert.equal(up.state().depth, 0, 'the queue drained');
    await queue.close();
    client.close();

    for (const a of acked) {
      const [sid, ts] = a.split(' ');
      assert.ok(
        server.readings(sid!).some(([t]) => t === Number(ts)),
        `${a} acknowledged by append() but not on the server`,
      );
    }
    for (const [i, sid] of SIDS.entries()) {
      for (const [ts, counter] of server.readings(sid))
        assert.equal(counter, writerCounter(i, ts), `${sid} ${ts} arrived intact`);
    }
    const segs = (await Promise.all(SIDS.map((sid) => fs.readdir(join(dataDir, sid)))))
      .flat()
      .filter((n) => n.endsWith('.seg'));
    assert.deepEqual(segs, [], 'every segment acknowledged and compacted away');
    // A kill between the server's 200 and the commit write sends that batch again; the
    // server keeps one value per (sid, ts) and counts the repeat.
    console.log(
      `# ${acked.size} readings acknowledged over ${KILLS} kills; ${server.stats.stored} stored, ${server.duplicates()} repeats, ${torn} torn tails made, ${warnings.length} warnings`,
    );
  } finally {
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  }
});
