import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceTotalGuard, MAX_GUARDED } from '../../../core/readings/source-total-guard';
import { SensorEngine, type SensorOut } from '../../../core/readings/sensor-engine';
import { DEFAULT_P1_LIMITS } from '../../../core/readings/p1-totals-guard';
import { DeviceSensors } from '../../../core/config/sensor-set';
import { device, sid, T0, DEVICE_ID } from '../../support/device';

const S = sid(1);

/** What goes out for each value in turn (undefined: held). */
function run(g: SourceTotalGuard, values: number[]): Array<number | undefined> {
  return values.map((v) => g.offer(S, v, 'test').publish);
}

test('a source total: growth goes out; a stray lower value is held and the next, carrying on, loses and adds nothing', () => {
  const g = new SourceTotalGuard();
  assert.deepEqual(run(g, [100, 100, 105]), [100, 100, 105]);
  const stray = g.offer(S, 90, 'Kube 3 movement');
  assert.equal(stray.publish, undefined);
  assert.match(stray.reason!, /^Kube 3 movement: counter went back from 105 to 90: held until 2 more readings confirm/);
  assert.deepEqual(run(g, [106, 110]), [106, 110]);
  assert.equal(g.stats.restarts, 0);
});

test('a source that counts again from scratch: held until 3 in a row agree, then the counter carries on, never back', () => {
  const g = new SourceTotalGuard();
  run(g, [500, 520]);
  const first = g.offer(S, 0, 'remote main');
  assert.equal(first.publish, undefined);
  assert.ok(first.reason);
  const second = g.offer(S, 2, 'remote main');
  assert.deepEqual(second, {}, 'said once per episode');
  const third = g.offer(S, 3, 'remote main');
  // counted from the first held value up: 520 + (3 - 0)
  assert.equal(third.publish, 523);
  assert.match(third.notice!, /3 readings in a row are below the last 520 \(now 3\).*carries on from 520/);
  assert.deepEqual(run(g, [4, 10]), [524, 530]);
  assert.deepEqual(g.snapshot(), { [S]: { last: 10, offset: 520 } });
  assert.equal(g.dirty, false);
  // A held run that goes down again starts over: two strays never confirm each other.
  assert.deepEqual(run(g, [5, 1, 6, 7]), [undefined, undefined, undefined, 530 + (7 - 1)]);
  assert.equal(g.stats.restarts, 2);
});

test('a flood of made-up sensor ids: the state stops growing at MAX_GUARDED, later ones pass as they come, said once', () => {
  const g = new SourceTotalGuard();
  for (let i = 0; i < MAX_GUARDED; i++) g.offer(`s${i}`, 10, 'x');
  const over = g.offer('late', 10, 'late');
  assert.equal(over.publish, 10);
  assert.match(over.notice!, /1024 counters are guarded already/);
  assert.deepEqual(g.offer('late', 5, 'late'), { publish: 5 });
  assert.equal(Object.keys(g.snapshot()).length, MAX_GUARDED);
});

test('the kept state: the first value after a start is checked against it', () => {
  const g = new SourceTotalGuard({ [S]: { last: 40, offset: 7 } });
  assert.deepEqual(run(g, [41]), [48]);
  assert.equal(g.dirty, true);
  const again = new SourceTotalGuard(g.snapshot());
  assert.deepEqual(run(again, [1, 2, 2]), [undefined, undefined, 48 + 1]);
  assert.throws(() => again.offer(S, Number.NaN, 'x'), /x: counter NaN is not a finite number/);
});

test('after a crash the counter resumes at its reservation, also when the source restarted meanwhile', () => {
  const now = { ms: 1_000_000 };
  const g = new SourceTotalGuard({}, () => now.ms);
  assert.deepEqual(run(g, [40]), [40]);
  assert.equal(g.reserve(S, 40), true, 'not covered yet: save before it goes out');
  assert.equal(g.reserve(S, 40.5), false);
  now.ms += 60_000;
  const published = g.offer(S, 47, 'x').publish!;
  g.reserve(S, published);
  const kept = g.snapshot();
  assert.ok(kept[S]!.reserved! >= 47);
  // What a crash leaves on disk: an older last value, and the reservation.
  const crashed = { [S]: { last: 40, offset: 0, reserved: kept[S]!.reserved! } };
  assert.deepEqual(run(new SourceTotalGuard(crashed), [45, 46]), [kept[S]!.reserved!, kept[S]!.reserved! + 1]);
  assert.deepEqual(run(new SourceTotalGuard(crashed), [2, 3, 5]), [undefined, undefined, kept[S]!.reserved! + 3]);
  // A clean stop gives the reservation back: nothing is added after it.
  g.release();
  assert.deepEqual(g.snapshot(), { [S]: { last: 47, offset: 0 } });
  assert.deepEqual(run(new SourceTotalGuard(g.snapshot()), [48]), [48]);
});

const movement = (count: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(count);
  return { nid: 3, payload: b.toString('hex') };
};

async function kubeEngine(dir: string, now: { s: number }, logs: string[]) {
  const d = device([{ n: 8, id: sid(8), name: 'hall motion', type: 'movement', class: 'kube', kid: 3 } as never]);
  return SensorEngine.open({
    device: d,
    sensors: await DeviceSensors.load(d, dir),
    dataDir: dir,
    p1Limits: DEFAULT_P1_LIMITS,
    log: (level, text) => logs.push(`${level}: ${text}`),
    rejects: () => 0,
    nowS: () => now.s,
    nowMs: () => now.s * 1000,
  });
}

test("flm-sensor's engine: a Kube's movement count that restarts (a battery change) never goes back, also across a restart", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-kube-total-'));
  try {
    const now = { s: Math.floor(T0 / 1000) };
    const logs: string[] = [];
    const out: number[] = [];
    const take = (o: SensorOut[]) => {
      for (const m of o) if (m.topic === `/sensor/${sid(8)}/counter`) out.push((m.payload as number[])[1]!);
    };
    const feed = async (e: SensorEngine, counts: number[]) => {
      for (const c of counts) {
        now.s += 60;
        await e.process('board/kube', movement(c), take);
      }
    };
    const e = await kubeEngine(dir, now, logs);
    await feed(e, [5, 7, 0, 1, 2, 4]);
    assert.deepEqual(out, [5, 7, 9, 11]);
    assert.equal(logs.filter((l) => /counter went back from 7 to 0/.test(l)).length, 1, 'said once');
    assert.ok(logs.some((l) => /^warn: Kube 3 movement \(sensor hall motion\): 3 readings in a row/.test(l)));
    // No close: a kill -9 now. The count and its offset were saved before they went out.
    const saved = JSON.parse(await readFile(join(dir, `counters-${DEVICE_ID}.json`), 'utf8'));
    assert.deepEqual(saved.sensors[sid(8)].total, { last: 4, offset: 7, reserved: 12 });

    const again = await kubeEngine(dir, now, logs);
    await feed(again, [6, 1, 1, 3]);
    assert.deepEqual(out, [5, 7, 9, 11, 13, 13 + 2]);
    assert.deepEqual(
      logs.filter((l) => /unreadable/.test(l)),
      [],
      'the kept state reads back',
    );
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
