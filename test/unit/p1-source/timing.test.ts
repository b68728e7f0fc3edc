import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay } from '../../../core/link/backoff';
import { RateLimiter, similarKey } from '../../../core/link/rate-limit';
import { Watchdog } from '../../../core/link/watchdog';
import { ManualClock } from '../../support/clock';

test('backoff without jitter doubles from 1 s and stops at the cap', () => {
  const schedule = Array.from({ length: 10 }, (_, i) => backoffDelay(i, { initialMs: 1000, maxMs: 30_000, jitter: 0 }));
  assert.deepEqual(schedule, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000]);
});

test('backoff is bounded for any attempt and any random number, also after a very long outage', () => {
  const o = { initialMs: 500, maxMs: 20_000, factor: 3, jitter: 0.5 };
  for (const attempt of [0, 1, 2, 5, 50, 1000, 1e9]) {
    for (const r of [0, 0.25, 0.999999, 1, -1, 2]) {
      const d = backoffDelay(attempt, o, r);
      const base = Math.min(20_000, 500 * 3 ** attempt);
      assert.ok(Number.isFinite(d), `${attempt}/${r}`);
      assert.ok(d <= 20_000 && d <= base, `${attempt}/${r}: ${d} above the cap`);
      assert.ok(d >= base * 0.5 - 1, `${attempt}/${r}: ${d} below (1 − jitter) × base`);
    }
  }
});

test('backoff jitter spreads the delays of many readers, each within [(1 − j)·d, d]', () => {
  let seed = 42;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const firsts = new Set<number>();
  for (let reader = 0; reader < 50; reader++) {
    const b = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.25, random });
    const delays = Array.from({ length: 6 }, () => b.next());
    firsts.add(delays[0]!);
    delays.forEach((d, i) => {
      const base = Math.min(8000, 1000 * 2 ** i);
      assert.ok(d >= base * 0.75 && d <= base, `delay ${i}: ${d} not in [${base * 0.75}, ${base}]`);
    });
    assert.equal(b.attempt, 6);
    b.reset();
    assert.equal(b.attempt, 0);
    assert.ok(b.next() <= 1000);
  }
  assert.ok(firsts.size > 20, `only ${firsts.size} distinct first delays among 50 readers`);
});

test('rate limiter: first at once, then one per interval, with the count held back; keys apart', () => {
  let now = 0;
  const r = new RateLimiter(60_000, () => now);
  assert.equal(r.take('crc', 'bad'), 'bad');
  for (let i = 0; i < 59; i++) {
    now += 1000;
    assert.equal(r.take('crc', 'bad'), null);
  }
  assert.equal(r.take('other', 'x'), 'x');
  now += 1000;
  assert.equal(r.take('crc', 'bad'), 'bad (and 59 more like it in the last 60 s)');
  now += 120_000;
  assert.equal(r.take('crc', 'bad'), 'bad');
  r.clear('crc');
  assert.equal(r.take('crc', 'again'), 'again');
});

test('rate limiter: a burst that stops is summarised once its interval is over, then forgotten', () => {
  let now = 0;
  const r = new RateLimiter(60_000, () => now);
  assert.equal(r.take('unknown', 'a'), 'a');
  for (let i = 0; i < 4; i++) {
    now += 1000;
    assert.equal(r.take('unknown', `b${i}`), null);
  }
  assert.equal(r.take('quiet', 'q'), 'q');
  assert.equal(r.holding, true);
  now = 59_999;
  assert.deepEqual(r.due(), [], 'not before the interval is over');
  now = 60_000;
  assert.deepEqual(r.due(), [{ key: 'unknown', held: 4, text: '4 more like this in the last 60 s: b3' }]);
  assert.equal(r.holding, false);
  assert.equal(r.take('unknown', 'c'), 'c', 'the next one is reported at once');
  assert.equal(r.take('unknown', 'd'), null);
  assert.deepEqual(
    r.due(true).map((d) => d.text),
    ['1 more like this in the last 1 s: d'],
    'all of it when closing',
  );
});

test('similar errors are one kind: numbers, sensor ids and quoted values left out', () => {
  const a = similarKey(`unknown sensor ${'a'.repeat(32)}: not an enabled sensor of device ${'0'.repeat(32)}`);
  assert.equal(a, similarKey(`unknown sensor ${'b'.repeat(32)}: not an enabled sensor of device ${'0'.repeat(32)}`));
  assert.equal(
    similarKey('reading 1700000000 for main not stored: late'),
    similarKey('reading 1700000001 for main not stored: late'),
  );
  assert.equal(similarKey('topic "hello"'), similarKey('topic "x"'));
  assert.notEqual(similarKey('payload must be [ts,value,"unit"]'), similarKey('not a reading topic: "hello"'));
});

test('watchdog fires after the silence, again each period while it lasts, and a kick ends it', () => {
  const clock = new ManualClock(1_000_000);
  const fired: Array<[number, number]> = [];
  const w = new Watchdog(30_000, (silent, n) => fired.push([silent, n]), clock);
  w.start();
  clock.advance(29_999);
  assert.deepEqual(fired, []);
  assert.equal(w.stale, false);
  clock.advance(1);
  assert.deepEqual(fired, [[30_000, 1]]);
  assert.equal(w.stale, true);
  clock.advance(60_000);
  assert.deepEqual(fired, [
    [30_000, 1],
    [60_000, 2],
    [90_000, 3],
  ]);
  w.kick();
  assert.equal(w.stale, false);
  clock.advance(29_000);
  w.kick(); // data keeps coming: never fires
  clock.advance(29_000);
  assert.equal(fired.length, 3);
  clock.advance(1000);
  assert.deepEqual(fired.at(-1), [30_000, 1]);
  w.stop();
  clock.advance(1_000_000);
  assert.equal(fired.length, 4);
  assert.equal(clock.timers, 0);
});

test('a watchdog of 0 never fires', () => {
  const clock = new ManualClock();
  let n = 0;
  const w = new Watchdog(0, () => n++, clock);
  w.start();
  clock.advance(1e9);
  assert.equal(n, 0);
  assert.equal(clock.timers, 0);
});
