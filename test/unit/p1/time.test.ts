import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseP1Timestamp } from '../../../core/p1/time';
import { unixOf } from './fixtures';

test('in the default zone (Europe/Brussels) W is UTC+1 and S is UTC+2', () => {
  assert.deepEqual(parseP1Timestamp('161113205757W'), {
    unix: unixOf('2016-11-13T19:57:57Z'),
    iso: '2016-11-13T19:57:57Z',
    dst: false,
  });
  assert.deepEqual(parseP1Timestamp('200426223325S'), {
    unix: unixOf('2020-04-26T20:33:25Z'),
    iso: '2020-04-26T20:33:25Z',
    dst: true,
  });
  // The flag decides the repeated autumn hour: 02:30 on 2020-10-25 happened twice.
  assert.equal(parseP1Timestamp('201025023000S')!.iso, '2020-10-25T00:30:00Z');
  assert.equal(parseP1Timestamp('201025023000W')!.iso, '2020-10-25T01:30:00Z');
  // Around New Year and a leap day.
  assert.equal(parseP1Timestamp('210101003000W')!.iso, '2020-12-31T23:30:00Z');
  assert.equal(parseP1Timestamp('200229235959W')!.iso, '2020-02-29T22:59:59Z');
});

test('without a flag, EU summer time rules decide (DSMR 2.2/3 gas profile)', () => {
  // 2020: summer time from 2020-03-29 01:00 UTC to 2020-10-25 01:00 UTC.
  assert.equal(parseP1Timestamp('200329015959')!.iso, '2020-03-29T00:59:59Z');
  assert.equal(parseP1Timestamp('200329030000')!.iso, '2020-03-29T01:00:00Z');
  assert.equal(parseP1Timestamp('200701120000')!.iso, '2020-07-01T10:00:00Z');
  assert.equal(parseP1Timestamp('201025023000')!.iso, '2020-10-25T00:30:00Z');
  assert.equal(parseP1Timestamp('201025030000')!.iso, '2020-10-25T02:00:00Z');
  assert.equal(parseP1Timestamp('161107190000')!.iso, '2016-11-07T18:00:00Z');
  assert.equal(parseP1Timestamp('161107190000')!.dst, null);
});

test('invalid timestamps give null, never an exception', () => {
  for (const raw of [
    '632525252525W',
    '632525252525S',
    '000000000000W',
    '200230120000W',
    '210229120000W',
    '200101240000W',
    '200101126000W',
    '200101120060W',
    '20010112000W',
    '2001011200000W',
    '200101120000X',
    'abc',
    '',
    '  ',
    '20O101120000W',
    '-00101120000W',
  ]) {
    assert.equal(parseP1Timestamp(raw), null, JSON.stringify(raw));
  }
});

test('2000-01-01 still parses; the unset capture time 700101010000W (the epoch, local) is no time, not 2070', () => {
  assert.equal(parseP1Timestamp('000101000000W')!.iso, '1999-12-31T23:00:00Z');
  assert.equal(parseP1Timestamp('700101010000W'), null);
  assert.equal(parseP1Timestamp('700101000000'), null);
});
