import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DropTally } from '../../../core/util/drop-tally';

test('drop tally: the first count at once, then one line per interval with the counts per subject and reason', () => {
  let now = 0;
  const tally = new DropTally(60_000, () => now);
  assert.equal(tally.take(), null, 'nothing noted, nothing to say');
  tally.note('gas', 'expired');
  assert.equal(tally.take(), 'gas: 1 expired');
  for (let i = 0; i < 1000; i++) {
    now += 50;
    tally.note('gas', 'expired');
    if (i % 10 === 0) tally.note('main', 'out-of-order');
    assert.equal(tally.take(), null, 'quiet within the interval');
  }
  now = 60_000;
  assert.equal(tally.take(), 'gas: 1000 expired; main: 100 out-of-order');
  assert.equal(tally.take(), null, 'counts are told once');
  assert.equal(tally.total, 1101);
});
