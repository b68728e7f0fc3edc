import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTelegram } from '../../../core/p1/check';
import { P1Framer } from '../../../core/p1/framer';
import { prng } from '../../../core/util/prng';
import { BAD_CRC, fixture, NO_CRC, referenceCrc, telegramOf, VALID_CRC, withCrc } from './fixtures';

const KAIFA = fixture('dsmr42-nl-kaifa.txt');

test('every valid-CRC fixture is accepted in strict mode with its CRC', () => {
  for (const name of VALID_CRC) {
    const r = checkTelegram(fixture(name));
    assert.equal(r.status, 'valid', `${name}: ${r.message}`);
    assert.equal(r.accepted, true);
    assert.equal(r.variant, 'arc');
    assert.equal(r.expected, r.computed);
  }
  assert.equal(checkTelegram(KAIFA).expected, 0x6796);
  assert.equal(checkTelegram(fixture('dsmr5-nl-heat-unpadded-crc.txt')).expected, 0x0b9f);
});

test('the three bad-CRC fixtures: rejected in strict, accepted with a warning in warn, unchecked in off', () => {
  for (const [name, carried, actual] of BAD_CRC) {
    const t = telegramOf(fixture(name));
    const strict = checkTelegram(t, { mode: 'strict' });
    assert.equal(strict.accepted, false, name);
    assert.equal(strict.status, 'mismatch');
    assert.equal(strict.expected, carried);
    assert.equal(strict.computed, actual);
    assert.match(strict.message!, /CRC mismatch/);
    const warn = checkTelegram(t, { mode: 'warn' });
    assert.equal(warn.accepted, true, name);
    assert.equal(warn.status, 'mismatch');
    assert.match(warn.message!, new RegExp(actual.toString(16).toUpperCase()));
    assert.deepEqual(checkTelegram(t, { mode: 'off' }), { accepted: true, status: 'unchecked' });
  }
});

test('telegrams without CRC (DSMR 2.2/3, Q3D) pass on their structure', () => {
  for (const name of NO_CRC) {
    const r = checkTelegram(telegramOf(fixture(name)));
    assert.deepEqual(r, { accepted: true, status: 'no-crc' }, name);
  }
});

test('a CRC-less telegram that is damaged or declares DSMR 4+ is rejected in strict mode', () => {
  const v22 = telegramOf(fixture('dsmr22-nl.txt'));
  const cases: Array<[string, string]> = [
    [v22.replace('1-0:1.8.2(', '1-0:1.8.2x('), 'malformed'],
    [v22.replace('(00001.001)\r\n', '(00001.001\r\n'), 'malformed'],
    [v22.replace('/ISk5', '/IS5k'), 'malformed'],
    [v22.replace('0-1:24.4.0(1)\r\n!', '0-1:24.4.0(1)!'), 'malformed'],
    ['/ISk5\\2MT382-1000\r\n\r\n!\r\n', 'malformed'],
    [KAIFA.replace('!6796', '!'), 'missing-crc'],
    [fixture('dsmr5-be-fluvius.txt').replace('!3AD7', '!'), 'missing-crc'],
  ];
  for (const [t, status] of cases) {
    const strict = checkTelegram(t);
    assert.equal(strict.status, status, t.slice(0, 40));
    assert.equal(strict.accepted, false);
    assert.ok(strict.message);
    assert.equal(checkTelegram(t, { mode: 'warn' }).accepted, true);
  }
});

test('CRC-16/X-25 (Holley): only with variant x25 or auto', () => {
  const body = '/HLY5/D545-METER\r\n\r\n1-0:1.8.1(00007137.694*kWh)\r\n!';
  const x25 = referenceCrc(Buffer.from(body, 'latin1'), 0x8408, 0xffff, 0xffff);
  const t = withCrc(body, x25);
  assert.equal(checkTelegram(t).status, 'mismatch');
  assert.equal(checkTelegram(t, { variant: 'arc' }).accepted, false);
  assert.deepEqual(checkTelegram(t, { variant: 'x25' }), {
    accepted: true,
    status: 'valid',
    variant: 'x25',
    expected: x25,
    computed: x25,
  });
  const auto = checkTelegram(t, { variant: 'auto' });
  assert.equal(auto.status, 'valid');
  assert.equal(auto.variant, 'x25');
  // An ARC telegram under x25 alone fails; under auto it passes as arc.
  assert.equal(checkTelegram(KAIFA, { variant: 'x25' }).status, 'mismatch');
  assert.equal(checkTelegram(KAIFA, { variant: 'auto' }).variant, 'arc');
});

test('a right CRC over a line that is no COSEM object: rejected in strict, accepted in warn', () => {
  const t = withCrc('/KFM5KAIFA-METER\r\n\r\n1-0:1.8.1(001581.123*kWh)\r\nhello\r\n!');
  const r = checkTelegram(t);
  assert.equal(r.status, 'malformed');
  assert.equal(r.accepted, false);
  assert.match(r.message!, /line 4 is not a COSEM object/);
  assert.equal(checkTelegram(t, { mode: 'warn' }).accepted, true);
});

test('a lower-case CRC is rejected in strict mode (DSMR prints upper case) and accepted in warn', () => {
  const t = fixture('dsmr5-be-fluvius.txt').replace('!3AD7', '!3aD7');
  assert.equal(checkTelegram(t).accepted, false);
  assert.equal(checkTelegram(t).status, 'malformed');
  assert.equal(checkTelegram(t, { mode: 'warn' }).accepted, true);
});

test('not a telegram at all: rejected in every mode, never thrown', () => {
  for (const mode of ['strict', 'warn', 'off'] as const) {
    for (const t of ['', 'hello', '/KFM5 no end', 'no start !1234\r\n']) {
      const r = checkTelegram(t, { mode });
      assert.equal(r.accepted, false);
      assert.equal(r.status, 'malformed');
    }
  }
  assert.equal(checkTelegram(KAIFA.replace('!6796\r\n', '!6796 trailer\r\n')).status, 'malformed');
});

test('any single changed byte of a CRC-carrying fixture is rejected in strict mode (every position)', () => {
  // Every bit flip, plus the bytes that mean something to the framer and the parser.
  const replacements = (b: number): number[] => [
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((k) => b ^ (1 << k)),
    ...[0x00, 0x0d, 0x0a, 0x2f, 0x21, 0x28, 0x29, 0x2a, 0x30, 0x41, 0x61, 0x20].filter((r) => r !== b),
  ];
  let tried = 0;
  for (const name of VALID_CRC) {
    const original = Buffer.from(fixture(name), 'latin1');
    for (let i = 0; i < original.length; i++) {
      for (const r of replacements(original[i]!)) {
        const m = Buffer.from(original);
        m[i] = r;
        const framer = new P1Framer();
        const frames = [...framer.push(m), ...framer.end()];
        for (const f of frames) {
          const c = checkTelegram(f);
          assert.equal(
            c.accepted,
            false,
            `${name}: byte ${i} 0x${original[i]!.toString(16)} -> 0x${r.toString(16)} accepted as ${c.status}`,
          );
        }
        tried++;
      }
    }
  }
  assert.ok(tried > 150_000, String(tried));
});

test('checkTelegram never throws on random bytes', () => {
  const rnd = prng(99);
  const alphabet = '/!0123456789ABCDEFabc()*-:.\r\n\0 \xff';
  for (let n = 0; n < 5000; n++) {
    let s = '';
    const len = Math.floor(rnd() * 200);
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    for (const variant of ['arc', 'x25', 'auto'] as const) {
      const r = checkTelegram(s, { variant });
      assert.equal(typeof r.accepted, 'boolean');
    }
  }
});
