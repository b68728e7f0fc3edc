import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTelegram } from '../../../core/p1/parse';
import { meterZone } from '../../../core/p1/time';
import type { P1Telegram } from '../../../core/p1/types';
import { fixture, unixOf } from './fixtures';

/**
 * Expectations written by hand from the fixture files (values, units, decoded ids, times
 * converted from the S/W flag), not from the parser's output.
 */

const parse = (name: string): P1Telegram => parseTelegram(fixture(name));
const at = (iso: string, dst: boolean | null) => ({ unix: unixOf(iso), iso, dst });
const q = (value: number, unit: string | null) => ({ value, unit });

test('dsmr22-nl: DSMR 2.2, no timestamp, gas in the two-line 24.3.0 profile', () => {
  const t = parse('dsmr22-nl.txt');
  assert.deepEqual(t.header, { raw: 'ISk5\\2MT382-1004', manufacturer: 'ISk', identification: '\\2MT382-1004' });
  assert.equal(t.timestamp, null);
  assert.equal(t.p1Version, undefined);
  assert.equal(t.equipmentId, '00000000000000');
  assert.deepEqual(t.electricity.delivered, { tariff1: q(1.001, 'kWh'), tariff2: q(1.001, 'kWh') });
  assert.deepEqual(t.electricity.returned, { tariff1: q(1.001, 'kWh'), tariff2: q(1.001, 'kWh') });
  assert.deepEqual(t.electricity.power, { delivered: q(1.01, 'kW'), returned: q(0, 'kW') });
  assert.equal(t.electricity.activeTariff, 1);
  assert.deepEqual(t.electricity.threshold, q(999, 'kW'));
  assert.equal(t.electricity.switchPosition, 1);
  assert.equal(t.messages, undefined, 'empty messages are not reported');
  assert.deepEqual(t.mbus, [
    {
      channel: 1,
      medium: 'gas',
      deviceType: 3,
      equipmentId: '000000000000',
      valvePosition: 1,
      // 2016-11-07 19:00 local, no flag: November is winter time, UTC+1.
      reading: { obis: '24.3.0', capturedAt: at('2016-11-07T18:00:00Z', null), value: 1.001, unit: 'm³' },
    },
  ]);
  assert.deepEqual(t.unknown, {});
  assert.deepEqual(t.warnings, []);
});

test('dsmr3-nl: hex ids and messages decoded, threshold in A', () => {
  const t = parse('dsmr3-nl.txt');
  assert.equal(t.equipmentId, 'K8EG004046395507');
  assert.deepEqual(t.electricity.delivered.tariff2, q(12345.678, 'kWh'));
  assert.deepEqual(t.electricity.returned.tariff1, q(12345.678, 'kWh'));
  assert.equal(t.electricity.activeTariff, 2);
  assert.deepEqual(t.electricity.power.delivered, q(1.19, 'kW'));
  assert.deepEqual(t.electricity.threshold, q(16, 'A'));
  assert.equal(t.messages?.code, '012345678');
  assert.equal(t.messages?.text, '0123456789:;<=>?'.repeat(5));
  const gas = t.mbus[0]!;
  assert.equal(gas.equipmentId, '2222ABCD123456789');
  assert.equal(gas.deviceType, 3);
  assert.equal(gas.medium, 'gas');
  assert.deepEqual(gas.reading, {
    obis: '24.3.0',
    capturedAt: at('2009-02-12T15:00:00Z', null),
    value: 1.001,
    unit: 'm³',
  });
});

test('dsmr42-nl-kaifa: DSMR 4.2 registers, failure log, per-phase values, hourly gas', () => {
  const t = parse('dsmr42-nl-kaifa.txt');
  assert.equal(t.header.manufacturer, 'KFM');
  assert.equal(t.p1Version, '42');
  assert.deepEqual(t.timestamp, at('2016-11-13T19:57:57Z', false));
  // Not hex-encoded text: kept as sent.
  assert.equal(t.equipmentId, '3960221976967177082151037881335713');
  assert.deepEqual(t.electricity.delivered, { tariff1: q(1581.123, 'kWh'), tariff2: q(1435.706, 'kWh') });
  assert.deepEqual(t.electricity.returned, { tariff1: q(0, 'kWh'), tariff2: q(0, 'kWh') });
  assert.equal(t.electricity.activeTariff, 2);
  assert.deepEqual(t.electricity.power, { delivered: q(2.027, 'kW'), returned: q(0, 'kW') });
  assert.deepEqual(t.electricity.phases.l1, {
    voltageSags: 0,
    voltageSwells: 0,
    current: q(0, 'A'),
    powerDelivered: q(0.17, 'kW'),
    powerReturned: q(0, 'kW'),
  });
  assert.deepEqual(t.electricity.phases.l2?.current, q(6, 'A'));
  assert.deepEqual(t.electricity.phases.l2?.powerDelivered, q(1.247, 'kW'));
  assert.deepEqual(t.electricity.phases.l3?.current, q(2, 'A'));
  assert.deepEqual(t.electricity.phases.l3?.powerDelivered, q(0.209, 'kW'));
  assert.deepEqual(t.powerFailures, {
    short: 15,
    long: 7,
    log: [
      { end: at('2000-01-04T17:03:20Z', false), duration: q(237126, 's') },
      { end: at('1999-12-31T23:00:01Z', false), duration: q(2147583646, 's') },
      { end: at('2000-01-01T23:00:03Z', false), duration: q(2317482647, 's') },
    ],
  });
  assert.deepEqual(t.mbus, [
    {
      channel: 1,
      medium: 'gas',
      deviceType: 3,
      equipmentId: '4819243993373755377509728609491464',
      reading: { obis: '24.2.1', capturedAt: at('2016-11-29T19:00:00Z', false), value: 981.443, unit: 'm³' },
    },
  ]);
  assert.deepEqual(t.unknown, {});
  assert.deepEqual(t.warnings, []);
});

test('dsmr5-nl: voltages, currents with decimals, empty failure log, empty second M-Bus slot', () => {
  const t = parse('dsmr5-nl.txt');
  assert.equal(t.p1Version, '50');
  assert.deepEqual(t.timestamp, at('2017-01-02T18:20:02Z', false));
  assert.equal(t.equipmentId, 'K8EG004046395507');
  assert.deepEqual(t.electricity.delivered, { tariff1: q(4.426, 'kWh'), tariff2: q(2.399, 'kWh') });
  assert.deepEqual(t.electricity.returned.tariff1, q(2.444, 'kWh'));
  assert.deepEqual(t.electricity.phases.l1?.voltage, q(230, 'V'));
  assert.deepEqual(t.electricity.phases.l3?.voltage, q(229, 'V'));
  assert.deepEqual(t.electricity.phases.l1?.current, q(0.48, 'A'));
  assert.deepEqual(t.electricity.phases.l3?.current, q(0.86, 'A'));
  assert.deepEqual(t.electricity.phases.l3?.powerDelivered, q(0.142, 'kW'));
  assert.deepEqual(t.powerFailures, { short: 13, long: 0, log: [] });
  assert.deepEqual(t.mbus, [
    {
      channel: 1,
      medium: 'gas',
      deviceType: 3,
      equipmentId: '2222ABCD123456789',
      reading: { obis: '24.2.1', capturedAt: at('2017-01-02T15:10:05Z', false), value: 0.107, unit: 'm³' },
    },
    { channel: 2, medium: 'gas', deviceType: 3 },
  ]);
});

test('dsmr5-nl-two-mbus: a dead slot on channel 1 (no unit) and the real gas meter on channel 2', () => {
  const t = parse('dsmr5-nl-two-mbus.txt');
  assert.equal(t.header.raw, 'ISK5\\2M550T-1012');
  assert.deepEqual(t.timestamp, at('2020-04-26T20:33:25Z', true));
  assert.equal(t.equipmentId, 'E0044007382246019');
  assert.deepEqual(t.electricity.delivered, { tariff1: q(2130.115, 'kWh'), tariff2: q(245.467, 'kWh') });
  assert.equal(t.electricity.phases.l3?.voltageSags, 192);
  assert.equal(t.electricity.phases.l1?.voltageSwells, 1);
  assert.deepEqual(t.electricity.phases.l3?.voltage, q(222.9, 'V'));
  assert.deepEqual(t.powerFailures?.log, [{ end: at('2019-03-26T08:50:15Z', false), duration: q(2014, 's') }]);
  assert.deepEqual(t.mbus, [
    {
      channel: 1,
      medium: 'gas',
      deviceType: 3,
      // The dead slot's 700101010000W is the epoch as local time: no capture time (not 2070).
      reading: { obis: '24.2.1', capturedAt: null, value: 0, unit: null },
    },
    {
      channel: 2,
      medium: 'gas',
      deviceType: 3,
      equipmentId: 'G0039001936990619',
      reading: { obis: '24.2.1', capturedAt: at('2020-04-26T20:30:01Z', true), value: 246.138, unit: 'm³' },
    },
  ]);
  assert.deepEqual(t.warnings, []);
});

test('dsmr5-nl-heat-unpadded-crc: a heat meter in GJ, header without baud digit', () => {
  const t = parse('dsmr5-nl-heat-unpadded-crc.txt');
  assert.deepEqual(t.header, { raw: 'NWA-WARMTELINK', manufacturer: 'NWA', identification: 'WARMTELINK' });
  assert.equal(t.p1Version, '50');
  assert.deepEqual(t.timestamp, at('2026-02-15T19:05:23Z', false));
  assert.equal(t.equipmentId, 'ADC3100000158491');
  assert.deepEqual(t.electricity, { delivered: {}, returned: {}, power: {}, phases: {} });
  assert.deepEqual(t.mbus, [
    {
      channel: 1,
      medium: 'heat',
      deviceType: 4,
      equipmentId: '621848012D2C0B0C',
      reading: { obis: '24.2.1', capturedAt: at('2026-02-15T19:05:23Z', false), value: 240.86, unit: 'GJ' },
    },
  ]);
});

test('dsmr5-be-fluvius: e-MUCS version, capacity tariff, gas on 24.2.3, water on 24.2.1', () => {
  const t = parse('dsmr5-be-fluvius.txt');
  assert.equal(t.emucsVersion, '50217');
  assert.equal(t.p1Version, undefined);
  assert.deepEqual(t.timestamp, at('2020-05-12T11:54:09Z', true));
  assert.equal(t.equipmentId, '1SAG3101021605');
  assert.deepEqual(t.electricity.delivered, { tariff1: q(0.034, 'kWh'), tariff2: q(15.758, 'kWh') });
  assert.deepEqual(t.electricity.returned, { tariff1: q(0, 'kWh'), tariff2: q(0.011, 'kWh') });
  assert.deepEqual(t.electricity.phases.l1?.fuseThreshold, q(999, 'A'));
  assert.deepEqual(t.electricity.phases.l2?.voltage, q(234.7, 'V'));
  assert.deepEqual(t.electricity.threshold, q(999.9, 'kW'));
  assert.deepEqual(t.capacity, {
    currentAverageDemand: q(2.351, 'kW'),
    monthPeak: { at: at('2020-05-09T11:45:58Z', true), value: 2.589, unit: 'kW' },
    history: [
      { month: at('2020-04-30T22:00:00Z', true), at: at('2020-04-23T17:25:38Z', true), value: 3.695, unit: 'kW' },
      // The file flags 2020-03-05 and 2020-03-01 as summer time, which Brussels was not then:
      // the zone's calendar wins (UTC+1); the flag is kept as sent.
      { month: at('2020-03-31T22:00:00Z', true), at: at('2020-03-05T11:21:39Z', true), value: 5.98, unit: 'kW' },
      { month: at('2020-02-29T23:00:00Z', true), at: at('2020-02-10T02:54:21Z', false), value: 4.318, unit: 'kW' },
    ],
  });
  assert.deepEqual(t.mbus, [
    {
      channel: 1,
      medium: 'gas',
      deviceType: 3,
      equipmentId: '7FLO2119033733',
      valvePosition: 1,
      reading: { obis: '24.2.3', capturedAt: at('2020-05-12T11:45:58Z', true), value: 112.384, unit: 'm³' },
    },
    {
      channel: 2,
      medium: 'water',
      deviceType: 7,
      equipmentId: '8SAG1234567890',
      reading: { obis: '24.2.1', capturedAt: at('2020-05-12T11:45:58Z', true), value: 872.234, unit: 'm³' },
    },
  ]);
  assert.deepEqual(t.unknown, {});
  assert.deepEqual(t.warnings, []);
});

test('dsmr5-be-fluvius-alt: an invalid timestamp inside the 13-month history gives null, not a failure', () => {
  const t = parse('dsmr5-be-fluvius-alt.txt');
  assert.deepEqual(t.timestamp, at('2023-11-02T11:15:48Z', false));
  assert.equal(t.equipmentId, '1SAG3100721326');
  assert.deepEqual(t.capacity?.monthPeak, { at: at('2023-11-02T10:45:00Z', false), value: 3.064, unit: 'kW' });
  const h = t.capacity?.history ?? [];
  assert.equal(h.length, 4);
  assert.deepEqual(h[0], { month: at('2023-07-31T22:00:00Z', true), at: null, value: 0, unit: 'kW' });
  assert.deepEqual(h[3], {
    month: at('2023-10-31T23:00:00Z', false),
    at: at('2023-10-16T11:00:00Z', true),
    value: 4.927,
    unit: 'kW',
  });
  assert.deepEqual(t.electricity.returned.tariff1, q(0.005, 'kWh'));
  assert.deepEqual(t.electricity.phases.l2?.current, q(0.88, 'A'));
  assert.equal(t.mbus[0]!.equipmentId, '7FLO2123088027');
  assert.deepEqual(t.mbus[0]!.reading?.capturedAt, at('2023-11-02T11:10:02Z', false));
  assert.equal(t.mbus[1]!.medium, 'water');
  assert.deepEqual(t.mbus[1]!.reading, {
    obis: '24.2.1',
    capturedAt: at('2023-11-02T11:15:32Z', false),
    value: 8.579,
    unit: 'm³',
  });
});

test('dsmr5-at-sagemcom-t210dr: Wh and W units kept as sent, totals and reactive registers', () => {
  const t = parse('dsmr5-at-sagemcom-t210dr.txt');
  assert.equal(t.header.manufacturer, 'EST');
  assert.deepEqual(t.timestamp, at('2022-10-06T13:50:14Z', true));
  assert.deepEqual(t.electricity.delivered, {
    total: q(6545766, 'Wh'),
    tariff1: q(5017120, 'Wh'),
    tariff2: q(1528646, 'Wh'),
  });
  assert.deepEqual(t.electricity.returned, { total: q(58, 'Wh'), tariff1: q(0, 'Wh'), tariff2: q(58, 'Wh') });
  assert.deepEqual(t.electricity.power, { delivered: q(286, 'W'), returned: q(0, 'W') });
  assert.deepEqual(t.electricity.reactiveEnergy, {
    delivered: { total: q(747, 'varh'), tariff1: q(0, 'varh'), tariff2: q(747, 'varh') },
    returned: { total: q(3897726, 'varh'), tariff1: q(2692848, 'varh'), tariff2: q(1204878, 'varh') },
  });
  assert.deepEqual(t.electricity.reactivePower, { delivered: q(0, 'var'), returned: q(166, 'var') });
  assert.equal(t.equipmentId, undefined);
});

test('dsmr5-hu-eon: four tariffs, quadrants, power factor, frequency; 98.1.0 of another shape kept raw', () => {
  const t = parse('dsmr5-hu-eon.txt');
  assert.deepEqual(t.timestamp, at('2023-07-24T13:07:30Z', true));
  assert.equal(t.logicalDeviceName, 'SAG3082200002160');
  assert.equal(t.equipmentId, '890082200002160');
  assert.deepEqual(t.electricity.delivered, {
    total: q(173.64, 'kWh'),
    tariff1: q(47.719, 'kWh'),
    tariff2: q(125.921, 'kWh'),
    tariff3: q(0, 'kWh'),
    tariff4: q(0, 'kWh'),
  });
  assert.deepEqual(t.electricity.returned.total, q(627.177, 'kWh'));
  assert.deepEqual(t.electricity.power, { delivered: q(0, 'kW'), returned: q(2.601, 'kW') });
  assert.deepEqual(t.electricity.reactiveEnergy?.q1, q(0.668, 'kvarh'));
  assert.deepEqual(t.electricity.reactiveEnergy?.q4, q(143.346, 'kvarh'));
  assert.deepEqual(t.electricity.reactiveEnergy?.delivered, { total: q(0.123, 'kvarh') });
  assert.deepEqual(t.electricity.reactivePower?.q3, q(0.504, 'kvar'));
  assert.deepEqual(t.electricity.combinedEnergy, q(800.817, 'kWh'));
  assert.deepEqual(t.electricity.powerFactor, q(4.556, null));
  assert.deepEqual(t.electricity.phases.l2?.powerFactor, q(4.542, null));
  assert.deepEqual(t.electricity.frequency, q(50, 'Hz'));
  assert.deepEqual(t.electricity.phases.l3?.fuseThreshold, q(200, 'A'));
  assert.deepEqual(t.electricity.threshold, q(90, 'kW'));
  assert.equal(t.capacity, undefined);
  assert.equal(t.unknown['0-0:98.1.0']?.length, 20);
  assert.equal(t.unknown['0-0:98.1.0']?.[0], '230701000000S');
  assert.deepEqual(t.warnings, []);
});

test('iskra-ie: control character in the header, odd-length id kept, an empty M-Bus slot', () => {
  // An Irish meter: its local time is Dublin's, GMT in February, whatever its S flag says.
  const t = parseTelegram(fixture('iskra-ie.txt'), { zone: meterZone('Europe/Dublin') });
  assert.deepEqual(t.header, { raw: 'ISk5\x02MIE5T-200', manufacturer: 'ISk', identification: '\x02MIE5T-200' });
  assert.equal(t.equipmentId, '09610');
  assert.deepEqual(t.timestamp, at('2023-02-02T13:27:47Z', true));
  assert.deepEqual(t.electricity.power, { delivered: q(0.17, 'kW'), returned: q(0.27, 'kW') });
  assert.deepEqual(t.electricity.phases.l2, {
    powerDelivered: q(0.417, 'kW'),
    powerReturned: q(0.427, 'kW'),
    voltage: q(241.7, 'V'),
    current: q(0, 'A'),
  });
  assert.deepEqual(t.mbus, [{ channel: 1, medium: 'unknown' }]);
  assert.deepEqual(t.unknown, { '1-0:0.0.0': ['00000000'] });
});

test('q3d-easymeter: *255 suffixes, values in W, long decimals', () => {
  const t = parse('q3d-easymeter.txt');
  assert.deepEqual(t.header, { raw: 'ESY5Q3DB1024 V3.04', manufacturer: 'ESY', identification: 'Q3DB1024 V3.04' });
  assert.equal(t.timestamp, null);
  assert.equal(t.equipmentId, '1ESY1313002565');
  assert.deepEqual(t.electricity.delivered, { total: q(52185.7825309, 'kWh') });
  assert.deepEqual(t.electricity.returned, { total: q(19949.3221493, 'kWh') });
  assert.deepEqual(t.electricity.power, { delivered: q(2124.86, 'W') });
  assert.deepEqual(t.electricity.phases, {
    l1: { powerDelivered: q(747.85, 'W') },
    l2: { powerDelivered: q(737.28, 'W') },
    l3: { powerDelivered: q(639.73, 'W') },
  });
  assert.deepEqual(t.unknown, { '1-0:0.0.0': ['0272031312565'], '1-0:96.5.5': ['80'] });
});

test('smarty-lu: Luxembourg plaintext, logical device name, values without a unit', () => {
  const t = parse('smarty-lu.txt');
  assert.equal(t.p1Version, '42');
  assert.deepEqual(t.timestamp, at('2018-01-30T09:21:22Z', false));
  assert.equal(t.logicalDeviceName, 'SAG1030700114004');
  assert.deepEqual(t.electricity.delivered, { total: q(6.695, 'kWh') });
  assert.deepEqual(t.electricity.returned, { total: q(0.025, 'kWh') });
  assert.deepEqual(t.electricity.reactiveEnergy, {
    delivered: { total: q(0.818, 'kvarh') },
    returned: { total: q(2.745, 'kvarh') },
  });
  assert.deepEqual(t.electricity.reactivePower, { delivered: q(0, null), returned: q(0.007, null) });
  assert.deepEqual(t.electricity.threshold, q(77.376, null));
  assert.deepEqual(t.powerFailures, { short: 69 });
  assert.equal(t.electricity.phases.l1?.voltageSags, 44);
  assert.equal(t.electricity.phases.l2?.voltageSags, 3);
  assert.deepEqual(Object.keys(t.unknown), ['0-0:96.13.2', '0-0:96.13.3', '0-0:96.13.4', '0-0:96.13.5']);
});

test('smarty-lu-encrypted.decrypted: the lengthened logical device name', () => {
  const t = parse('smarty-lu-encrypted.decrypted.txt');
  assert.equal(t.logicalDeviceName, 'SAG1030700114004'.repeat(3));
  assert.deepEqual(t.electricity.delivered.total, q(6.695, 'kWh'));
});

test('smarty-lu-spec-example: four M-Bus channels with dead water slots, kVA, a two-value object kept raw', () => {
  const t = parse('smarty-lu-spec-example.txt');
  assert.deepEqual(t.timestamp, at('2020-07-06T08:41:57Z', true));
  assert.equal(t.logicalDeviceName, 'SAG1030790002574');
  assert.deepEqual(t.electricity.threshold, q(69, 'kVA'));
  assert.deepEqual(t.electricity.apparentPower, { delivered: q(0.021, 'kVA'), returned: q(0, 'kVA') });
  assert.deepEqual(t.electricity.phases.l1?.reactivePowerReturned, q(0, 'kvar'));
  assert.deepEqual(t.unknown['1-1:31.4.0'], ['100*A', '-063*A']);
  assert.deepEqual(t.mbus, [
    {
      channel: 1,
      medium: 'gas',
      switchPosition: 0,
      deviceType: 3,
      equipmentId: 'FLO189900060355',
      valvePosition: 0,
      reading: { obis: '24.2.1', capturedAt: at('2020-07-06T08:31:40Z', true), value: 0.006, unit: 'm³' },
    },
    {
      channel: 2,
      medium: 'water',
      switchPosition: 0,
      deviceType: 7,
      valvePosition: 1,
      reading: { obis: '24.2.1', capturedAt: null, value: 0, unit: null },
    },
    {
      channel: 3,
      medium: 'water',
      deviceType: 7,
      valvePosition: 1,
      reading: { obis: '24.2.1', capturedAt: null, value: 0, unit: null },
    },
    {
      channel: 4,
      medium: 'gas',
      deviceType: 3,
      equipmentId: 'ELS353589980300',
      valvePosition: 1,
      reading: { obis: '24.2.1', capturedAt: at('2020-07-06T08:29:00Z', true), value: 28.103, unit: 'm³' },
    },
  ]);
  assert.deepEqual(t.warnings, []);
});

test('be-emucs-2.1.1-spec-example: serial numbers, per-channel switches, gas and water both on 24.2.3', () => {
  const t = parse('be-emucs-2.1.1-spec-example.txt');
  assert.equal(t.emucsVersion, '50221');
  assert.equal(t.equipmentId, '1SAG3101021605');
  assert.equal(t.serialNumber, '541440012345678900');
  assert.deepEqual(t.unknown, { '1-0:94.32.1': ['400'] });
  assert.deepEqual(t.electricity.phases.l1?.fuseThreshold, q(999.99, 'A'));
  assert.deepEqual(t.electricity.threshold, q(99.999, 'kW'));
  assert.deepEqual(
    t.mbus.map((d) => [d.channel, d.medium, d.switchPosition]),
    [
      [1, 'gas', 0],
      [2, 'water', 0],
      [3, 'unknown', 0],
      [4, 'unknown', 0],
    ],
  );
  assert.equal(t.mbus[0]!.serialNumber, '541440012345678900');
  assert.equal(t.mbus[1]!.serialNumber, '541440012345678903');
  assert.deepEqual(t.mbus[1]!.reading, {
    obis: '24.2.3',
    capturedAt: at('2020-05-12T11:45:58Z', true),
    value: 872.234,
    unit: 'm³',
  });
});

test('the payload is plain JSON: it survives a round trip unchanged', () => {
  for (const name of ['dsmr5-be-fluvius-alt.txt', 'dsmr22-nl.txt', 'smarty-lu-spec-example.txt']) {
    const t = parse(name);
    assert.deepEqual(JSON.parse(JSON.stringify(t)), t, name);
  }
});

test('unknown and unreadable lines never stop the rest of the telegram', () => {
  const text = fixture('dsmr5-nl.txt')
    .replace('1-0:32.7.0(0230.0*V)', '1-0:32.7.0(abc*V)')
    .replace('0-0:96.14.0(0002)', '0-0:96.14.0(0002)\r\n9-9:9.9.9(x)(y)\r\ngarbage line\r\n0-0:1.0.0(999999999999W)');
  const t = parseTelegram(text);
  assert.deepEqual(t.unknown['9-9:9.9.9'], ['x', 'y']);
  assert.deepEqual(t.unknown['1-0:32.7.0'], ['abc*V']);
  assert.equal(t.electricity.phases.l1?.voltage, undefined);
  assert.deepEqual(t.electricity.phases.l2?.voltage, q(230, 'V'));
  // The later, invalid timestamp wins and is null.
  assert.equal(t.timestamp, null);
  assert.equal(t.warnings.length, 3);
  assert.match(t.warnings.join('\n'), /garbage line/);
  assert.deepEqual(parseTelegram('').electricity, { delivered: {}, returned: {}, power: {}, phases: {} });
});
