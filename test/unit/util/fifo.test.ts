import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fifo } from '../../../core/util/fifo';

test('Fifo keeps order across compactions, interleaved with pushes', () => {
  const q = new Fifo<number>();
  const out: number[] = [];
  let next = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 300; i++) q.push(next++);
    for (let i = 0; i < 250; i++) out.push(q.shift()!);
  }
  out.push(...q.drain());
  assert.deepEqual(
    out,
    Array.from({ length: next }, (_, i) => i),
  );
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
});
