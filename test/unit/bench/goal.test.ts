import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goal, verdict } from '../../../bench/support';

function printed(fn: () => void): string[] {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    fn();
  } finally {
    console.log = log;
  }
  return lines;
}

test('a bench goal line carries the measured value, the goal and the verdict last, MET or NOT MET', () => {
  const lines = printed(() => {
    assert.equal(goal('ratio bridge / plain time', 1.54, '<=', 1.2), false);
    assert.equal(goal('ratio bridge / plain time', 1.1, '<=', 1.2), true);
    assert.equal(goal('telegrams/s per core', 25_000, '>=', 20_000, { digits: 0, note: 'best of 5' }), true);
    assert.equal(goal('share of one core', 1, '<', 1, { digits: 3, unit: ' %' }), false);
    assert.equal(verdict('memory flat (goal < 16 MB heap, < 128 MB RSS)', true), true);
  });
  assert.deepEqual(lines, [
    'goal: ratio bridge / plain time: 1.54 (goal <= 1.2) NOT MET',
    'goal: ratio bridge / plain time: 1.10 (goal <= 1.2) MET',
    'goal: telegrams/s per core: 25000 (goal >= 20000); best of 5 MET',
    'goal: share of one core: 1.000 % (goal < 1 %) NOT MET',
    'goal: memory flat (goal < 16 MB heap, < 128 MB RSS) MET',
  ]);
});
