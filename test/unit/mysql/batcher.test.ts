import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher } from '../../../core/sinks/mysql';
import { ManualClock } from '../../support/clock';

test('a batch goes out when it is full, and at the latest the interval after its first item', () => {
  const clock = new ManualClock(0);
  const out: number[][] = [];
  const b = new Batcher<number>({ maxItems: 3, maxDelayMs: 1000, onBatch: (x) => out.push(x), clock });
  for (let i = 1; i <= 7; i++) b.add(i);
  assert.deepEqual(out, [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  clock.advance(999);
  assert.equal(out.length, 2);
  clock.advance(1);
  assert.deepEqual(out.at(-1), [7]);
  assert.equal(clock.timers, 0, 'no timer while nothing waits');
  b.add(8);
  clock.advance(500);
  b.add(9); // the interval runs from the first item, not the last
  clock.advance(500);
  assert.deepEqual(out.at(-1), [8, 9]);
});

test('flush hands over what waits and disarms the timer; an empty flush sends nothing', () => {
  const clock = new ManualClock(0);
  const out: string[][] = [];
  const b = new Batcher<string>({ maxItems: 100, maxDelayMs: 1000, onBatch: (x) => out.push(x), clock });
  b.flush();
  assert.deepEqual(out, []);
  b.add('a');
  b.add('b');
  assert.equal(b.size, 2);
  b.flush();
  assert.deepEqual(out, [['a', 'b']]);
  assert.equal(clock.timers, 0);
  clock.advance(5000);
  assert.equal(out.length, 1);
});
