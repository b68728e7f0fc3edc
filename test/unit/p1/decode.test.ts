import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTelegram } from '../../../core/p1/decode';
import * as p1 from '../../../core/p1/index';
import { fixture, telegramOf } from './fixtures';

test('decodeTelegram: parses what the check accepts and explains what it rejects', () => {
  const ok = decodeTelegram(fixture('dsmr5-nl.txt'));
  assert.equal(ok.ok, true);
  if (ok.ok) {
    assert.equal(ok.check.status, 'valid');
    assert.equal(ok.telegram.equipmentId, 'K8EG004046395507');
  }
  const bad = decodeTelegram(telegramOf(fixture('be-emucs-2.1.1-spec-example.txt')));
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error, /CRC mismatch: telegram says 1234, computed 74E0/);
  const warned = decodeTelegram(telegramOf(fixture('be-emucs-2.1.1-spec-example.txt')), { mode: 'warn' });
  assert.equal(warned.ok, true);
  if (warned.ok) {
    assert.equal(warned.check.status, 'mismatch');
    assert.equal(warned.telegram.emucsVersion, '50221');
  }
});

test('the index exports the whole public API', () => {
  for (const name of [
    'crc16Arc',
    'crc16X25',
    'P1Framer',
    'extractTelegrams',
    'checkTelegram',
    'parseTelegram',
    'decodeTelegram',
    'parseP1Timestamp',
    'decryptSmartyFrame',
    'parseSmartyFrame',
    'SmartyFramer',
    'toFlmReadings',
    'meterIdOf',
    'MeterRateGauges',
  ]) {
    assert.equal(typeof (p1 as Record<string, unknown>)[name], 'function', name);
  }
});
