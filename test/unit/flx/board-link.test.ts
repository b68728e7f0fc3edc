import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBoardLink } from '../../../core/flx/board-link';
import { phrasedView } from '../../../core/util/status-view';
import { device, sid } from '../../support/device';
import { ctDataPayload, goldenFrame, T_BOARD } from './support';

test('the FLM03 status counts reports the checksum passed but the plausibility checks dropped', () => {
  const dev = device([
    { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [2], current: 100 },
  ]);
  const link = createBoardLink('flm03', { sensors: dev.sensors, phase: dev.phase, validAfter: dev.validAfter });
  const host = T_BOARD * 1000 + 300;
  link.push(goldenFrame(8, ctDataPayload(1, T_BOARD)), host);
  link.push(goldenFrame(8, ctDataPayload(1, T_BOARD + 1)), host + 1000);
  // the golden frame's ithd (1,048,575.999) and alpha (−1,048,576 °) are beyond any clamp: dropped
  const dropped = (link as unknown as { implausible: number }).implausible;
  assert.ok(dropped >= 2, `${dropped} implausible`);
  const summary = link.summary();
  const batches = link.stats.batches;
  // each part a key of flm-board's catalog with its count, and the English line it makes
  assert.deepEqual(
    summary.map((p) => [p.key, p.params]),
    [
      ['frames', { count: 2 }],
      ['implausible', { count: dropped }],
      ['batches', { count: batches }],
    ],
  );
  assert.equal(phrasedView('ok', summary).text, `2 frames · ${dropped} implausible · ${batches} batches`);
  assert.equal(link.stats.bad, 0, 'a good checksum is not a bad frame');
});
