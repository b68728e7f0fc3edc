import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseP1Timestamp, meterZone, DEFAULT_METER_ZONE } from '../../../core/p1/time';
import { parseTelegram } from '../../../core/p1/parse';
import { toFlmReadings } from '../../../core/p1/flm-readings';
import { fixture, telegramOf } from './fixtures';

const iso = (raw: string, zone: string) => parseP1Timestamp(raw, meterZone(zone))?.iso ?? null;

test('meter zones are IANA names checked against Intl; the EU summer-time rule is recognised', () => {
  assert.equal(meterZone('Europe/Brussels'), DEFAULT_METER_ZONE);
  for (const [zone, standard] of [
    ['Europe/Amsterdam', 3600],
    ['Europe/Luxembourg', 3600],
    ['Europe/Vienna', 3600],
    ['Europe/Budapest', 3600],
    ['Europe/Dublin', 0],
    ['Europe/Helsinki', 7200],
  ] as const) {
    assert.deepEqual(meterZone(zone), { name: zone, standard, eu: true }, zone);
  }
  assert.equal(meterZone('America/New_York').eu, false, 'US rules are not the EU rule');
  assert.equal(meterZone('UTC').eu, false);
  assert.throws(() => meterZone('Europe/Gent'), /meter time zone "Europe\/Gent" is not a time zone/);
  assert.throws(() => meterZone(''), RangeError);
});

test('each zone gives its own offset, winter and summer', () => {
  assert.equal(iso('230115120000W', 'Europe/Dublin'), '2023-01-15T12:00:00Z');
  assert.equal(iso('230715120000S', 'Europe/Dublin'), '2023-07-15T11:00:00Z');
  assert.equal(iso('230115120000W', 'Europe/Vienna'), '2023-01-15T11:00:00Z');
  assert.equal(iso('230715120000S', 'Europe/Budapest'), '2023-07-15T10:00:00Z');
  assert.equal(iso('230715120000S', 'Europe/Helsinki'), '2023-07-15T09:00:00Z');
  // A zone without the EU rule goes through Intl: New York in January is UTC-5, in July UTC-4.
  assert.equal(iso('230115120000', 'America/New_York'), '2023-01-15T17:00:00Z');
  assert.equal(iso('230715120000', 'America/New_York'), '2023-07-15T16:00:00Z');
  assert.equal(iso('230101003000', 'America/New_York'), '2023-01-01T05:30:00Z');
});

test('a missing flag, or one that contradicts the zone, gives way to the zone calendar', () => {
  // No flag: the calendar.
  assert.equal(iso('230715120000', 'Europe/Dublin'), '2023-07-15T11:00:00Z');
  assert.equal(iso('230115120000', 'Europe/Dublin'), '2023-01-15T12:00:00Z');
  // S in February and W in July are not believed.
  assert.equal(iso('230202132747S', 'Europe/Brussels'), '2023-02-02T12:27:47Z');
  assert.equal(iso('230202132747S', 'Europe/Dublin'), '2023-02-02T13:27:47Z');
  assert.equal(iso('230715120000W', 'Europe/Amsterdam'), '2023-07-15T10:00:00Z');
  // The flag is kept as the meter sent it.
  assert.equal(parseP1Timestamp('230202132747S')!.dst, true);
  // The repeated autumn hour is the one place the flag decides, in every zone.
  assert.equal(iso('231029023000S', 'Europe/Brussels'), '2023-10-29T00:30:00Z');
  assert.equal(iso('231029023000W', 'Europe/Brussels'), '2023-10-29T01:30:00Z');
  assert.equal(iso('231029013000S', 'Europe/Dublin'), '2023-10-29T00:30:00Z');
  assert.equal(iso('231029013000W', 'Europe/Dublin'), '2023-10-29T01:30:00Z');
  assert.equal(iso('231105013000W', 'America/New_York'), '2023-11-05T06:30:00Z');
  assert.equal(iso('231105013000S', 'America/New_York'), '2023-11-05T05:30:00Z');
});

test('fixtures: Austrian, Hungarian and Luxembourg meters in their zones; the Belgian history with S in March', () => {
  const at = parseTelegram(fixture('dsmr5-at-sagemcom-t210dr.txt'), { zone: meterZone('Europe/Vienna') });
  assert.equal(at.timestamp?.iso, '2022-10-06T13:50:14Z');
  const hu = parseTelegram(fixture('dsmr5-hu-eon.txt'), { zone: meterZone('Europe/Budapest') });
  assert.equal(hu.timestamp?.iso, '2023-07-24T13:07:30Z');
  const lu = parseTelegram(fixture('smarty-lu.txt'), { zone: meterZone('Europe/Luxembourg') });
  assert.equal(lu.timestamp?.iso, '2018-01-30T09:21:22Z');
  const ie = parseTelegram(fixture('iskra-ie.txt'), { zone: meterZone('Europe/Dublin') });
  assert.equal(ie.timestamp?.iso, '2023-02-02T13:27:47Z');
  const be = parseTelegram(fixture('dsmr5-be-fluvius.txt'));
  // 200305122139S: 5 March was winter time in Brussels.
  assert.equal(be.capacity?.history?.[1]?.at?.iso, '2020-03-05T11:21:39Z');
});

test('a dead M-Bus slot (700101010000W) has no capture time and gives no reading, not one in 2070', () => {
  const t = parseTelegram(telegramOf(fixture('dsmr5-nl-two-mbus.txt')));
  assert.equal(t.mbus[0]!.reading!.capturedAt, null);
  const readings = toFlmReadings(t, { deviceId: '00112233445566778899aabbccddeeff' });
  assert.ok(
    readings.every((r) => r.ts < Date.UTC(2030, 0, 1) / 1000),
    JSON.stringify(readings.map((r) => [r.key, r.ts])),
  );
  assert.deepEqual(
    readings.filter((r) => r.type === 'gas').map((r) => r.ts),
    [Date.UTC(2020, 3, 26, 20, 30, 1) / 1000],
  );
});
