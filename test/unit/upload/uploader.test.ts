import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../support/clock';
import type { PostOutcome } from '../../../core/upload/client';
import { downsample } from '../../../core/upload/filters';
import { UploadQueue } from '../../../core/upload/queue';
import type { Reading } from '../../../core/upload/reading';
import {
  DEFAULT_BACKOFF,
  Uploader,
  type MeasurementPoster,
  type UploadEvent,
  type UploaderOptions,
} from '../../../core/upload/uploader';
import { VirtualClock } from '../../support/clock';
import { backoffDelay } from '../../../core/link/backoff';
import { KEY, SID_A, SID_B, SID_C, T0, WRONG_KEY, series, withTempDir } from './support';

/** A stand-in server: answers by a rule, records what it was sent and when. */
class FakeClient implements MeasurementPoster {
  calls: Array<{ at: number; sid: string; readings: Reading[]; ok: boolean }> = [];
  key = KEY;
  constructor(
    private readonly clock: VirtualClock,
    public answer: (sid: string, key: string) => PostOutcome['kind'] = () => 'ok',
  ) {}
  async postMeasurements(sid: string, readings: readonly Reading[]): Promise<PostOutcome> {
    const url = `http://127.0.0.1/sensor/${sid}`;
    const kind = this.answer(sid, this.key);
    this.calls.push({ at: this.clock.now(), sid, readings: [...readings], ok: kind === 'ok' });
    if (kind === 'ok') return { kind, url, status: 200 };
    if (kind === 'auth-failed') return { kind, url, status: 401, excerpt: 'digest mismatch' };
    return { kind, url, status: 500, error: 'HTTP 500' };
  }
  setKey(key: string): void {
    this.key = key;
  }
  sent(sid: string): Reading[] {
    return this.calls.filter((c) => c.sid === sid && c.ok).flatMap((c) => c.readings);
  }
}

async function setup(dir: string, answer: FakeClient['answer'], opts: Partial<UploaderOptions> = {}) {
  const clock = new VirtualClock(T0 * 1000);
  const queue = await UploadQueue.open({ dir });
  const client = new FakeClient(clock, answer);
  const events: UploadEvent[] = [];
  const up = new Uploader({ queue, client, clock, filters: false, onEvent: (e) => events.push(e), ...opts });
  const advance = (ms: number) => clock.advance(ms, () => up.idle());
  return { clock, queue, client, up, events, advance };
}

test('backoffDelay: doubling from the base up to the cap, with half of it jittered', () => {
  const o = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };
  // retry n (1 for the first failure) is the shared schedule's attempt n - 1; a jitter draw of 0 is the longest delay
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n - 1, o, 0)),
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
  );
  assert.deepEqual(
    [1, 2, 3, 7].map((n) => backoffDelay(n - 1, o, 1)),
    [500, 1000, 2000, 30000],
  );
  assert.equal(backoffDelay(99, DEFAULT_BACKOFF, 0), DEFAULT_BACKOFF.maxMs);
});

test('a failing sensor retries on the backoff schedule, and a success resets it', async () => {
  await withTempDir(async (dir) => {
    let failing = true;
    const { queue, client, up, advance, clock } = await setup(dir, () => (failing ? 'retry' : 'ok'), {
      backoff: { initialMs: 1000, maxMs: 16_000, factor: 2 },
      random: () => 1,
      intervalMs: 300_000,
    });
    await queue.appendMany(SID_A, series(T0, 10));
    up.start();
    await advance(60_000);
    const gaps = client.calls.slice(1).map((c, i) => c.at - client.calls[i]!.at);
    assert.deepEqual(gaps.slice(0, 6), [1000, 2000, 4000, 8000, 16000, 16000]);
    const st = up.state().sensors[0]!;
    assert.equal(st.state, 'backoff');
    assert.equal(st.depth, 10, 'nothing leaves the queue on failure');
    assert.match(st.lastError?.message ?? '', /HTTP 500/);
    assert.ok(st.nextAttemptAt! > clock.now());
    failing = false;
    await advance(16_000);
    assert.equal(up.state().sensors[0]!.state, 'idle');
    assert.equal(up.state().sensors[0]!.attempts, 0);
    assert.equal(queue.depth(SID_A), 0);
    assert.equal(up.state().lastSuccess, client.calls.at(-1)!.at);
    failing = true;
    await queue.appendMany(SID_A, series(T0 + 10, 1));
    const n = client.calls.length;
    await advance(300_000);
    assert.equal(client.calls[n]!.at - client.calls[n - 1]!.at <= 300_000, true);
    assert.equal(
      client.calls[n + 1]!.at - client.calls[n]!.at,
      1000,
      'after a success the schedule starts again at the base',
    );
    await up.stop();
    await queue.close();
  });
});

test('jitter spreads sensors that failed together', async () => {
  await withTempDir(async (dir) => {
    let r = 0;
    const { queue, client, up, advance } = await setup(dir, () => 'retry', {
      backoff: { initialMs: 10_000, maxMs: 10_000, factor: 2 },
      random: () => (r = (r + 0.37) % 1),
    });
    for (const sid of [SID_A, SID_B, SID_C]) await queue.appendMany(sid, series(T0, 3));
    up.start();
    await advance(9_000);
    const retries = client.calls.filter((c) => c.at > T0 * 1000);
    const times = new Set(retries.map((c) => c.at));
    assert.equal(retries.length, 3);
    assert.equal(times.size, 3, 'three sensors, three different retry times');
    for (const c of retries) assert.ok(c.at - T0 * 1000 >= 5000 && c.at - T0 * 1000 <= 10_000);
    await up.stop();
    await queue.close();
  });
});

test('the interval drains new readings every round; batches respect the size limit', async () => {
  await withTempDir(async (dir) => {
    const { queue, client, up, advance } = await setup(dir, () => 'ok', { batchSize: 40, intervalMs: 300_000 });
    up.start();
    await queue.appendMany(SID_A, series(T0, 100));
    await advance(299_000);
    assert.equal(client.calls.length, 0, 'nothing before the next round');
    await advance(1_000);
    assert.deepEqual(
      client.calls.map((c) => c.readings.length),
      [40, 40, 20],
    );
    assert.deepEqual(client.sent(SID_A), series(T0, 100));
    await queue.appendMany(SID_A, series(T0 + 100, 5));
    await advance(300_000);
    assert.deepEqual(client.calls.at(-1)!.readings, series(T0 + 100, 5));
    assert.equal(client.sent(SID_A).length, 105, 'nothing acknowledged was sent again');
    await up.stop();
    await queue.close();
  });
});

test('401 parks the sensor with its data until setKey; then it drains at once', async () => {
  await withTempDir(async (dir) => {
    const { queue, client, up, advance, events } = await setup(dir, (_sid, key) =>
      key === KEY ? 'ok' : 'auth-failed',
    );
    client.setKey(WRONG_KEY);
    await queue.appendMany(SID_A, series(T0, 30));
    up.start();
    await advance(1000);
    assert.equal(client.calls.length, 1);
    await advance(6 * 3600_000);
    assert.equal(client.calls.length, 1, 'no retries while the key is refused');
    const s = up.state();
    assert.equal(s.authFailed, true);
    assert.equal(s.sensors[0]!.state, 'auth-failed');
    assert.match(s.lastError?.message ?? '', /authentication failed \(401\)/);
    assert.equal(s.depth, 30, 'the data is kept');
    assert.ok(events.some((e) => e.kind === 'auth-failed'));
    up.setKey(KEY);
    await advance(0);
    assert.equal(queue.depth(SID_A), 0);
    assert.equal(up.state().authFailed, false);
    assert.deepEqual(client.sent(SID_A), series(T0, 30));
    await up.stop();
    await queue.close();
  });
});

test('when one sensor gets through after an outage, the others in backoff go at once', async () => {
  await withTempDir(async (dir) => {
    let down = true;
    const { queue, client, up, advance } = await setup(dir, () => (down ? 'retry' : 'ok'), {
      backoff: { initialMs: 60_000, maxMs: 3600_000, factor: 2 },
      random: () => 0.5,
    });
    const t0 = T0 * 1000;
    await queue.appendMany(SID_A, series(T0, 5));
    up.start(); // A fails at 0 s, again at 45 s; its next try would be at 45 + 90 = 135 s
    await advance(50_000);
    for (const sid of [SID_B, SID_C]) await queue.appendMany(sid, series(T0, 5));
    up.round(); // B and C fail at 50 s; they try again at 95 s
    await advance(10_000);
    down = false;
    await advance(40_000);
    const ok = client.calls.filter((c) => c.at > t0 + 60_000);
    assert.deepEqual(
      ok.map((c) => [c.sid, c.at - t0]).sort(),
      [
        [SID_A, 95_000],
        [SID_B, 95_000],
        [SID_C, 95_000],
      ],
      'A went with B and C instead of waiting for 135 s',
    );
    assert.equal(up.state().depth, 0);
    await up.stop();
    await queue.close();
  });
});

test('with the filters on, a POST carries the thinned readings and the dropped ones are not sent later', async () => {
  await withTempDir(async (dir) => {
    const { queue, client, up, advance, clock } = await setup(dir, () => 'ok', { filters: true });
    const start = T0 - 3 * 3600;
    const pts = series(start, 3 * 3600, 1);
    await queue.appendMany(SID_A, pts);
    up.start();
    await advance(0);
    const now = Math.floor(clock.now() / 1000);
    const sent = client.sent(SID_A);
    assert.deepEqual(
      sent,
      downsample(pts.slice(0, 20_000), now),
      'one scan of 20 × batch, thinned as fluksod thins its buffer',
    );
    assert.equal(queue.depth(SID_A), 0, 'dropped readings are acknowledged with their batch');
    await advance(600_000);
    assert.equal(client.sent(SID_A).length, sent.length, 'and never sent');
    await up.stop();
    await queue.close();
  });
});

test('filters with more survivors than a POST holds: only up to the last one sent is acknowledged', async () => {
  await withTempDir(async (dir) => {
    const { queue, client, up, advance } = await setup(dir, () => 'ok', {
      filters: true,
      batchSize: 50,
      scanSize: 500,
    });
    // Two readings a minute (the first and last of each), within 2 h: the filters keep all.
    const pts = series(T0 - 3600, 120, 30);
    await queue.appendMany(SID_A, pts);
    up.start();
    await advance(0);
    assert.ok(client.calls.every((c) => c.readings.length <= 50));
    assert.deepEqual(client.sent(SID_A), pts);
    await up.stop();
    await queue.close();
  });
});

test('stop() cuts the rounds and retries; queued readings stay for the next start', async () => {
  await withTempDir(async (dir) => {
    const { queue, client, up, advance } = await setup(dir, () => 'retry');
    await queue.appendMany(SID_A, series(T0, 5));
    up.start();
    await advance(1000);
    await up.stop();
    const n = client.calls.length;
    await advance(3600_000);
    assert.equal(client.calls.length, n);
    assert.equal(queue.depth(SID_A), 5);
    await queue.close();
  });
});

test('a 401 to a request signed before setKey does not park the sensor: it is sent again with the new key', async () => {
  await withTempDir(async (dir) => {
    const clock = new VirtualClock(T0 * 1000);
    const queue = await UploadQueue.open({ dir });
    let release: () => void = () => undefined;
    const keys: string[] = [];
    let key = WRONG_KEY;
    const client: MeasurementPoster = {
      async postMeasurements(sid) {
        const signedWith = key;
        keys.push(signedWith);
        if (keys.length === 1) await new Promise<void>((r) => (release = r));
        const url = `http://127.0.0.1/sensor/${sid}`;
        return signedWith === KEY
          ? { kind: 'ok', url, status: 200 }
          : { kind: 'auth-failed', url, status: 401, excerpt: '' };
      },
      setKey(k) {
        key = k;
      },
    };
    const up = new Uploader({ queue, client, clock, filters: false });
    await queue.appendMany(SID_A, series(T0, 3));
    up.start();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(keys.length, 1, 'the first POST is under way');
    up.setKey(KEY);
    release();
    await clock.advance(0, () => up.idle());
    assert.deepEqual(keys, [WRONG_KEY, KEY]);
    assert.equal(up.state().authFailed, false);
    assert.equal(queue.depth(SID_A), 0);
    await up.stop();
    await queue.close();
  });
});

test('acknowledgements are deferred while a sensor drains, and on disk once it is caught up: a crash then sends nothing again', async () => {
  await withTempDir(async (dir) => {
    const clock = new VirtualClock(T0 * 1000);
    // The queue's own timer never fires: only the record limit and the end of a drain write the pointer.
    const queue = await UploadQueue.open({ dir, clock: new ManualClock(0), commitMaxRecords: 100 });
    const client = new FakeClient(clock, () => 'ok');
    const up = new Uploader({ queue, client, clock, filters: false, batchSize: 10 });
    await queue.appendMany(SID_A, series(T0, 995));
    up.start();
    await clock.advance(0, () => up.idle());
    assert.deepEqual(client.sent(SID_A), series(T0, 995));
    assert.ok(
      queue.counters.commitWrites <= 1000 / 100 + 1,
      `${queue.counters.commitWrites} pointer writes for 100 batches`,
    );
    // As after a SIGKILL now: a second queue on the same folder, the first never closed.
    const again = await UploadQueue.open({ dir: `${dir}` });
    assert.equal(again.depth(SID_A), 0, 'the last acknowledgement is on disk');
    await again.close();
    await up.stop();
    await queue.close();
  });
});

test('a pointer write that fails: the sensor backs off with a queue error, keeps its data, and drains once the disk takes writes again', async () => {
  await withTempDir(async (dir) => {
    const clock = new VirtualClock(T0 * 1000);
    const queue = await UploadQueue.open({ dir, clock: new ManualClock(0), commitMaxRecords: 30 });
    const client = new FakeClient(clock, () => 'ok');
    const events: UploadEvent[] = [];
    const up = new Uploader({
      queue,
      client,
      clock,
      filters: false,
      batchSize: 10,
      random: () => 1,
      backoff: { initialMs: 1000, maxMs: 1000 },
      onEvent: (e) => events.push(e),
    });
    await queue.appendMany(SID_A, series(T0, 200));
    const blocker = join(dir, SID_A, 'commit.json');
    await fs.mkdir(join(blocker, 'in-the-way'), { recursive: true });
    up.start();
    await clock.advance(0, () => up.idle());
    const errors = events.filter((e) => e.kind === 'queue-error');
    assert.ok(
      errors.length >= 1 && errors.some((e) => e.kind === 'queue-error' && e.retryInMs === 1000),
      JSON.stringify(errors),
    );
    assert.equal(up.state().sensors[0]!.state, 'backoff');
    assert.ok(client.sent(SID_A).length < 200, 'it stopped sending');
    assert.ok(queue.depth(SID_A) > 0);

    await fs.rm(blocker, { recursive: true });
    await clock.advance(1000, () => up.idle());
    assert.equal(queue.depth(SID_A), 0);
    assert.equal(up.state().sensors[0]!.state, 'idle');
    assert.deepEqual([...new Map(client.sent(SID_A)).entries()], series(T0, 200), 'every reading reached the server');
    const again = await UploadQueue.open({ dir });
    assert.equal(again.depth(SID_A), 0, 'and the pointer on disk says so');
    await again.close();
    await up.stop();
    await queue.close();
  });
});
