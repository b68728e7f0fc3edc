import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uploadRoute } from '../../../core/upload';
import { DEVICE_ID, sid } from '../../support/device';

test('uploadRoute: counters to the queue, the sensor table and TMPO to the bridge, gauges nowhere, a bad counter refused', () => {
  assert.deepEqual(uploadRoute(`/sensor/${sid(1)}/counter`, [1_750_000_000, 42, 'Wh'], DEVICE_ID), {
    sid: sid(1),
    ts: 1_750_000_000,
    value: 42,
  });
  assert.equal(uploadRoute(`/device/${DEVICE_ID}/config/sensor`, '{}', DEVICE_ID), 'bridge');
  assert.equal(uploadRoute(`/sensor/${sid(1)}/gauge`, [1, 2, 'W'], DEVICE_ID), 'pass');
  assert.equal(uploadRoute('p1/telegram', {}, DEVICE_ID), 'pass');
  assert.throws(() => uploadRoute(`/sensor/${sid(1)}/counter`, 'x', DEVICE_ID), /payload must be \[ts,value,"unit"\]/);
  assert.throws(
    () => uploadRoute(`/sensor/${sid(1)}/counter`, [1], ''),
    /payload must be/,
    'refused without a server too',
  );
});
