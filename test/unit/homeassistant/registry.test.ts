import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiscoveryRegistry, readingUnit } from '../../../core/sinks/homeassistant/registry';
import { device, sid, HOUSEHOLD_SENSORS } from '../../support/device';

const P1_SID = 'b'.repeat(32);

test('unknown sensors are learnt from msg.flm once, and an undescribable one is reported once', () => {
  const r = new DiscoveryRegistry(device());
  const learnt = r.learn(P1_SID, 'counter', 'Wh', { name: 'p1', type: 'electricity', deviceId: device().id });
  assert.equal(learnt?.id, P1_SID);
  assert.equal(
    r.learn(P1_SID, 'counter', 'Wh', { name: 'p1', type: 'electricity' }),
    undefined,
    'nothing new the second time',
  );
  assert.ok(r.sources().some((s) => s.id === P1_SID));
  assert.throws(() => r.learn('c'.repeat(32), 'gauge', 'W', undefined), /is not in the table .* has no msg\.flm/);
  assert.equal(r.learn('c'.repeat(32), 'gauge', 'W', undefined), undefined, 'reported once, then quiet');
  assert.equal(
    r.learn('d'.repeat(32), 'gauge', 'W', { name: 'x', type: 'electricity', deviceId: 'e'.repeat(32) }),
    undefined,
    "another device's reading is not ours",
  );
});

test('a table sensor sending an unexpected unit is re-described; the learnt state survives a restart', () => {
  const r = new DiscoveryRegistry(device());
  assert.equal(r.learn(sid(1), 'gauge', 'W', undefined), undefined, 'what the config expects: nothing to do');
  const changed = r.learn(sid(4), 'gauge', 'L/s', undefined);
  assert.deepEqual(changed?.units, { gauge: 'L/s' });
  const again = new DiscoveryRegistry(device(), r.entry([]));
  assert.deepEqual(again.sources().find((s) => s.id === sid(4))?.units, { gauge: 'L/s' });
});

test('P1 sensors learnt before are dropped once the table has cosem sensors', () => {
  const r = new DiscoveryRegistry(device());
  r.learn(P1_SID, 'counter', 'Wh', { name: 'p1', type: 'electricity' });
  const withCosem = device([
    ...HOUSEHOLD_SENSORS,
    { n: 9, name: 'smart-main', type: 'electricity', class: 'cosem', p1: 'net' },
  ]);
  assert.equal(
    new DiscoveryRegistry(withCosem, r.entry([])).sources().some((s) => s.id === P1_SID),
    false,
  );
  assert.equal(
    new DiscoveryRegistry(device(), r.entry([])).sources().some((s) => s.id === P1_SID),
    true,
  );
});

test('readingUnit reads the unit of an FLM payload in any form', () => {
  assert.equal(readingUnit([1, 2, 'W']), 'W');
  assert.equal(readingUnit('[1,2,"L"]'), 'L');
  assert.equal(readingUnit(Buffer.from('[1,2,"Wh"]')), 'Wh');
  assert.equal(readingUnit('nope'), undefined);
});
