import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boardClockPhrase, flm02Summary, flm03Summary } from '../../../core/flx/board-status';
import { phrasedView, type Phrase } from '../../../core/util/status-view';

const keyed = (parts: Phrase[]) => parts.map((p) => [p.key, p.params ?? {}]);
const english = (parts: Phrase[]) => phrasedView('ok', parts).text;

test("flm-board's FLM03 counts: a part is left out while its count is 0", () => {
  const quiet = flm03Summary({ frames: 5, bad: 0, batches: 4 }, 0);
  assert.deepEqual(keyed(quiet), [
    ['frames', { count: 5 }],
    ['batches', { count: 4 }],
  ]);
  assert.equal(english(quiet), '5 frames · 4 batches');
  const troubled = flm03Summary({ frames: 120, bad: 3, batches: 100 }, 7);
  assert.deepEqual(keyed(troubled), [
    ['frames', { count: 120 }],
    ['bad', { count: 3 }],
    ['implausible', { count: 7 }],
    ['batches', { count: 100 }],
  ]);
  assert.equal(english(troubled), '120 frames · 3 bad · 7 implausible · 100 batches');
});

test("flm-board's FLM02 counts: bad replies say how many went unanswered", () => {
  const unanswered = flm02Summary({ frames: 120, bad: 3, timeouts: 2, batches: 118 });
  assert.deepEqual(keyed(unanswered), [
    ['replies', { count: 120 }],
    ['badUnanswered', { count: 3, unanswered: 2 }],
    ['batches', { count: 118 }],
  ]);
  assert.equal(english(unanswered), '120 replies · 3 bad (2 unanswered) · 118 batches');
  assert.equal(english(flm02Summary({ frames: 9, bad: 1, timeouts: 0, batches: 8 })), '9 replies · 1 bad · 8 batches');
  assert.equal(english(flm02Summary({ frames: 0, bad: 0, timeouts: 0, batches: 0 })), '0 replies · 0 batches');
});

test("the board clock's last decision, said after the counts", () => {
  assert.deepEqual(boardClockPhrase('step-board'), { key: 'clockSet', en: 'clock set' });
  assert.deepEqual(boardClockPhrase('adopt-board-clock'), { key: 'boardClock', en: 'board clock' });
  assert.equal(boardClockPhrase('none'), undefined);
});
