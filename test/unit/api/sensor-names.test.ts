import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TmpoStore } from '../../../core/tmpo/store';
import { RecentGauges } from '../../../core/api/recent-gauges';
import { lookupSensor } from '../../../core/api/sensor-names';
import { CFG, SID_A, SID_B, T20, TOKEN_A, TOKEN_B, key, putSeries, withServer, withTempDir } from './support';

const SID_C = '0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c';
const SENSORS = [
  { id: SID_A, name: 'main' },
  { id: SID_B, name: 'grid import' },
  { id: SID_C, name: 'solar' },
  { id: 'dddddddddddddddddddddddddddddddd', name: 'solar' },
];

test('lookupSensor: an id, a name (exact, then any case), an unknown id-like ref kept; unknown and ambiguous names said', () => {
  assert.deepEqual(lookupSensor(SID_A, SENSORS), { ok: true, sid: SID_A });
  assert.deepEqual(lookupSensor('main', SENSORS), { ok: true, sid: SID_A });
  assert.deepEqual(lookupSensor('Grid Import', SENSORS), { ok: true, sid: SID_B });
  assert.deepEqual(lookupSensor('abcdef', SENSORS), { ok: true, sid: 'abcdef' });
  const unknown = lookupSensor('mian', SENSORS);
  assert.equal(unknown.ok, false);
  assert.equal(!unknown.ok && unknown.message, 'no sensor is named "mian"; known names: grid import, main, solar');
  const twice = lookupSensor('solar', SENSORS);
  assert.equal(!twice.ok && twice.why, 'ambiguous');
  assert.match(!twice.ok ? twice.message : '', new RegExp(`${SID_C} \\(solar\\), d{32} \\(solar\\); give the id`));
  assert.match(
    !lookupSensor('x', []).ok ? (lookupSensor('x', []) as { message: string }).message : '',
    /no sensor names/,
  );
});

test('HTTP APIs: a sensor by its (URL-encoded) name answers as by id; unknown names 404, shared names 409', async () => {
  await withTempDir(async (dir) => {
    const { store } = await TmpoStore.open(dir);
    const series = { times: [T20 + 10, T20 + 70, T20 + 130], values: [1000, 1010, 1030] };
    await putSeries(store, key(8, T20, SID_B), series, { ...CFG, id: SID_B, function: 'grid import' });
    const gauges = new RecentGauges();
    gauges.setSensors([SID_A, SID_B]);
    gauges.push(SID_A, T20 + 200, 420, 'W');
    const options = {
      store,
      gauges,
      tokens: { [SID_A]: TOKEN_A, [SID_B]: TOKEN_B },
      sensors: () => SENSORS,
      now: () => T20 + 200,
    };
    await withServer(options, async (base) => {
      const local = '?version=1.0&interval=minute&unit=watt';
      const byId = await fetch(`${base}/sensor/${SID_A}${local}`);
      const byName = await fetch(`${base}/sensor/main${local}`);
      assert.equal(byName.status, 200);
      assert.equal(await byName.text(), await byId.text());

      const q = `series?version=1.0&token=${TOKEN_B}&start=${T20}&end=${T20 + 180}&resolution=60&unit=counter`;
      const seriesById = await fetch(`${base}/sensor/${SID_B}/${q}`);
      const seriesByName = await fetch(`${base}/sensor/grid%20import/${q}`);
      assert.equal(seriesByName.status, 200);
      const body = await seriesByName.text();
      assert.equal(body, await seriesById.text());
      assert.equal(JSON.parse(body).sid, SID_B, 'the answer names the id');

      const sync = await fetch(`${base}/sensor/Grid%20Import/tmpo/sync?rid=0&lvl=0&bid=0&version=1.0&token=${TOKEN_B}`);
      assert.equal(sync.status, 200);
      assert.deepEqual(JSON.parse(await sync.text()), [{ rid: 0, lvl: 8, bid: T20, ext: 'gz' }]);
      // the token stays the sensor's own: another sensor's is refused by name as by id
      assert.equal(
        (await fetch(`${base}/sensor/grid%20import/series?version=1.0&token=${TOKEN_A}&start=${T20}`)).status,
        403,
      );

      const unknown = await fetch(`${base}/sensor/mian${local}`);
      assert.equal(unknown.status, 404);
      assert.doesNotMatch(await unknown.text(), /main/, 'the local API answers anyone: no names listed');
      assert.equal((await fetch(`${base}/sensor/%E0%A4%A${local}`)).status, 404, 'a broken escape');
      const shared = await fetch(`${base}/sensor/solar${local}`);
      assert.equal(shared.status, 409);
      assert.match(await shared.text(), new RegExp(`${SID_C} \\(solar\\)`));
    });
  });
});
