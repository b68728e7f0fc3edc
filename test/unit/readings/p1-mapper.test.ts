import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P1ReadingMapper, isP1Telegram } from '../../../core/readings/p1-mapper';
import { parseTelegram } from '../../../core/p1';
import { fixture, telegramOf } from '../p1/fixtures';
import { device, sid } from '../../support/device';

const twoMbus = () => parseTelegram(telegramOf(fixture('dsmr5-nl-two-mbus.txt')));
// 2020-04-26 22:33:25 summer time (S, UTC+2)
const TS = Date.UTC(2020, 3, 26, 20, 33, 25) / 1000;
const GAS_TS = Date.UTC(2020, 3, 26, 20, 30, 1) / 1000;

test('cosem sensors take the P1 readings their key names: net counter and power, gas from its M-Bus channel', () => {
  const d = device([
    { n: 1, id: sid(1), name: 'smart-main', type: 'electricity', class: 'cosem', p1: 'net' },
    { n: 2, id: sid(2), name: 'gas', type: 'gas', class: 'cosem', p1: 'gas' },
    { n: 3, id: sid(3), name: 'l1', type: 'electricity', class: 'cosem', p1: 'l1' },
  ]);
  const m = new P1ReadingMapper(d);
  const r = m.process(twoMbus(), 0);
  const got = r.readings.map((x) => [x.sensor.name, x.kind, x.ts, x.value, x.unit]);
  assert.deepEqual(
    got.sort(),
    [
      ['gas', 'counter', GAS_TS, 246138, 'L'],
      ['l1', 'gauge', TS, 56, 'W'],
      ['smart-main', 'counter', TS, 2130115 + 245467, 'Wh'],
      ['smart-main', 'gauge', TS, 111, 'W'],
    ].sort(),
  );
  assert.ok(r.readings.every((x) => [sid(1), sid(2), sid(3)].includes(x.sid)));
  // the same telegram again: nothing new (one per second, counters only on change)
  assert.deepEqual(m.process(twoMbus(), 0).readings, []);
});

test('without cosem sensors, net electricity, import and export (total and per tariff) and every M-Bus meter go out under ids derived from the meter', () => {
  const a = new P1ReadingMapper(device([]));
  const r = a.process(twoMbus(), 0);
  const names = r.readings.map((x) => `${x.sensor.name}/${x.kind}`).sort();
  assert.deepEqual(names, [
    'gas/counter',
    'grid export t1/counter',
    'grid export t2/counter',
    'grid export/counter',
    'grid export/gauge',
    'grid import t1/counter',
    'grid import t2/counter',
    'grid import/counter',
    'grid import/gauge',
    'grid/counter',
    'grid/gauge',
  ]);
  assert.deepEqual(
    r.derived.map((s) => `${s.name}=${s.p1}`),
    [
      'grid=net',
      'grid import=delivered',
      'grid export=returned',
      'grid import t1=delivered:t1',
      'grid export t1=returned:t1',
      'grid import t2=delivered:t2',
      'grid export t2=returned:t2',
      'gas=gas:G0039001936990619',
    ],
    'each sensor is derived once, for the device to register',
  );
  assert.deepEqual(a.process(twoMbus(), 0).derived, [], 'and not again');
  const b = new P1ReadingMapper(device([]));
  assert.deepEqual(
    b.process(twoMbus(), 0).readings.map((x) => x.sid),
    r.readings.map((x) => x.sid),
    'stable across restarts',
  );
  assert.ok(r.readings.every((x) => /^[0-9a-f]{32}$/.test(x.sid)));
});

test('a telegram stamped before the valid-clock time is held back', () => {
  const m = new P1ReadingMapper(device([], { validAfter: TS }));
  const r = m.process(twoMbus(), 0);
  assert.equal(r.heldBack, true);
  assert.deepEqual(r.readings, []);
});

test('isP1Telegram tells a parsed telegram from anything else', () => {
  assert.equal(isP1Telegram(twoMbus()), true);
  assert.equal(isP1Telegram({ electricity: {} }), false);
  assert.equal(isP1Telegram('/ISK5...'), false);
  assert.equal(isP1Telegram(null), false);
});
