/**
 * flm-mysql under load while its MariaDB goes away: readings keep arriving, the spool grows and
 * the status says so; the server comes back and every reading is in the table exactly once.
 * Once with a clean shutdown (SIGTERM), once with a kill (SIGKILL, InnoDB recovers).
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { helper, flmNodes, onTab, waitFor, withDataDir, statuses } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY } from '../support/device';
import { MariaDb } from '../support/mariadb';
import { spoolDir } from '../../nodes/flm-mysql';

let db: MariaDb;
before(async () => {
  db = await MariaDb.start();
});
after(async () => {
  await db?.remove();
});
afterEach(async () => {
  await helper.unload();
});

const N = 6000;
const STOP_AT = 1500;
const RESUME_AT = 4000;
const T0 = 1_750_000_000;
const SIDS = HOUSEHOLD_SENSORS.map((s) => s.id!);
/** reading i: one of four sensors, gauge or counter, each (sid, kind, ts) once */
const readingMsg = (i: number) => {
  const kind = Math.floor(i / 4) % 2 ? 'counter' : 'gauge';
  return {
    topic: `/sensor/${SIDS[i % 4]}/${kind}`,
    payload: [T0 + Math.floor(i / 8), i * 0.5, kind === 'gauge' ? 'W' : 'Wh'],
    n: i,
  };
};

async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function loadThroughOutage(prefix: string, takeDown: () => Promise<void>): Promise<void> {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: HOUSEHOLD_SENSORS },
        { id: 'my', type: 'flm-mysql', device: 'dev', url: db.url(), prefix, batchSize: '100', batchInterval: '0.2' },
        { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
        { id: 'complete', type: 'complete', scope: ['my'], uncaught: false, wires: [['completed']] },
        { id: 'completed', type: 'helper' },
      ]),
      { dev: { deviceKey: DEVICE_KEY } },
    );
    const my = helper.getNode('my');
    const st = statuses('my');
    const doneSeen = new Set<number>();
    helper.getNode('completed').on('input', (m: { n: number }) => doneSeen.add(m.n));
    const errors: string[] = [];
    helper.getNode('caught').on('input', (m: { error: { message: string } }) => errors.push(m.error.message));
    await waitFor('the tables checked', () => st.find((s) => s.fill === 'green'), 15_000);

    let down: Promise<void> | undefined;
    let up: Promise<void> | undefined;
    for (let i = 0; i < N; i++) {
      my.receive(readingMsg(i));
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 10)); // about 5000 readings/s, as a busy source
      if (i === STOP_AT) down = takeDown();
      if (i === RESUME_AT) {
        await down;
        // Still sending while down: the spool has grown and the status says so.
        const yellow = await waitFor(
          'yellow status with a spooled backlog',
          () => st.find((s) => s.fill === 'yellow' && /· \d+ spooled · database unreachable/.test(s.text ?? '')),
          15_000,
        );
        assert.equal(yellow.shape, 'ring');
        assert.ok(
          readdirSync(spoolDir(dir, 'my')).some((f) => f.endsWith('.spool')),
          'spool files on disk',
        );
        up = db.resume();
      }
    }
    await up;
    await waitFor('every message done', () => doneSeen.size === N, 60_000);
    await eventually(
      'every reading in the table',
      async () => Number(await db.scalar(`SELECT COUNT(*) FROM ${prefix}readings`)) >= N,
      60_000,
    );
    await waitFor(
      'the spool drained: green again',
      () => st.at(-1)?.fill === 'green' && /^\d+ rows$/.test(st.at(-1)?.text ?? ''),
      30_000,
    );
    assert.equal(Number(await db.scalar(`SELECT COUNT(*) FROM ${prefix}readings`)), N, 'no reading twice');
    // Each value names its reading: all of them, once.
    assert.equal(Number(await db.scalar(`SELECT COUNT(DISTINCT value) FROM ${prefix}readings`)), N);
    assert.equal(Number(await db.scalar(`SELECT SUM(value * 2) FROM ${prefix}readings`)), (N * (N - 1)) / 2);
    assert.deepEqual(readdirSync(spoolDir(dir, 'my')), []);
    assert.deepEqual(errors, []);
    const spooledAtMost = Math.max(...st.map((s) => Number(/(\d+) spooled/.exec(s.text ?? '')?.[1] ?? 0)));
    assert.ok(spooledAtMost > 0, 'readings went through the spool');
  });
}

test(
  'flm-mysql: MariaDB shut down mid-load and started again: every reading exactly once',
  { timeout: 180_000 },
  async () => {
    await loadThroughOutage('stop_', () => db.stop());
  },
);

test(
  'flm-mysql: MariaDB killed mid-load (SIGKILL) and started again: every reading exactly once',
  { timeout: 180_000 },
  async () => {
    await loadThroughOutage('kill_', () => db.kill());
  },
);
