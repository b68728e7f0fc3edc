import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P1Framer } from '../../../core/p1/framer';
import { checkTelegram } from '../../../core/p1/check';
import { parseTelegram } from '../../../core/p1/parse';
import { toFlmReadings } from '../../../core/p1/flm-readings';
import { prng } from '../../../core/util/prng';
import { ALL_TELEGRAMS, fixture, telegramOf } from './fixtures';

/**
 * Random damage to real telegrams (byte changes, insertions, deletions, truncations, splices,
 * duplicated pieces, garbage streams), fed in random chunks through framer, check, parser and
 * readings. Nothing may throw or hang, and strict mode may accept only telegrams that are
 * byte for byte one of the originals, or CRC-less ones without the DSMR 4+ markers that demand a CRC.
 */

const CASES = 100_000;
const SEED = 20240601;
const originals = ALL_TELEGRAMS.map((n) => telegramOf(fixture(n)));
const originalSet = new Set(originals);
const SPECIAL = '/!()*\r\n\0:.-0123456789ABCDEF';

function mutate(rnd: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const int = (n: number): number => Math.floor(rnd() * n);
  const randomChar = (): string => (rnd() < 0.5 ? pick([...SPECIAL]) : String.fromCharCode(int(256)));
  let s = pick(originals);
  const ops = 1 + int(4);
  for (let k = 0; k < ops; k++) {
    const i = int(s.length + 1);
    switch (int(8)) {
      case 0:
        s = s.slice(0, i) + randomChar() + s.slice(i + 1);
        break;
      case 1:
        s = s.slice(0, i) + randomChar() + s.slice(i);
        break;
      case 2:
        s = s.slice(0, i) + s.slice(i + 1 + int(20));
        break;
      case 3:
        s = s.slice(0, i);
        break;
      case 4: {
        const o = pick(originals);
        s = s.slice(0, i) + o.slice(int(o.length));
        break;
      }
      case 5: {
        const j = int(s.length + 1);
        s = s.slice(0, i) + s.slice(Math.min(i, j), Math.max(i, j)) + s.slice(i);
        break;
      }
      case 6: {
        let g = '';
        for (let n = int(200); n > 0; n--) g += randomChar();
        s = s.slice(0, i) + g + s.slice(i);
        break;
      }
      default:
        s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << int(8))) + s.slice(i + 1);
    }
  }
  return s;
}

test(`fuzz: ${CASES} damaged streams never throw, hang or get a corrupted telegram accepted in strict mode`, () => {
  const rnd = prng(SEED);
  let frames = 0;
  let accepted = 0;
  for (let n = 0; n < CASES; n++) {
    const input = mutate(rnd);
    const framer = new P1Framer({ maxTelegramBytes: rnd() < 0.25 ? 1024 : 16 * 1024 });
    const out: string[] = [];
    for (let i = 0; i < input.length;) {
      const size = 1 + Math.floor(rnd() * 600);
      out.push(...framer.push(input.slice(i, i + size)));
      i += size;
    }
    out.push(...framer.end());
    for (const t of out) {
      frames++;
      const strict = checkTelegram(t, { mode: 'strict' });
      const warn = checkTelegram(t, { mode: 'warn', variant: 'auto' });
      assert.equal(typeof warn.accepted, 'boolean');
      const parsed = parseTelegram(t);
      toFlmReadings(parsed, {
        deviceId: '0'.repeat(32),
        receivedAt: 0,
        tariffs: true,
        phases: true,
        capacity: true,
        directions: true,
      });
      if (!strict.accepted) continue;
      accepted++;
      if (strict.status === 'valid') {
        assert.ok(originalSet.has(t), `case ${n}: a changed telegram passed the CRC check:\n${JSON.stringify(t)}`);
      } else {
        assert.equal(strict.status, 'no-crc', `case ${n}`);
        assert.doesNotMatch(t, /\n(1-3:0\.2\.8\([4-9]\d\)|0-0:96\.1\.4\()/, `case ${n}`);
      }
    }
  }
  assert.ok(frames > CASES / 2, `only ${frames} frames`);
  assert.ok(accepted > 0);
});

test('fuzz: pure garbage streams give no telegram that passes strict mode', () => {
  const rnd = prng(SEED + 1);
  for (let n = 0; n < 2000; n++) {
    const bytes = Buffer.alloc(Math.floor(rnd() * 4000));
    for (let i = 0; i < bytes.length; i++)
      bytes[i] = rnd() < 0.2 ? SPECIAL.charCodeAt(Math.floor(rnd() * SPECIAL.length)) : Math.floor(rnd() * 256);
    const framer = new P1Framer();
    for (const t of [...framer.push(bytes), ...framer.end()]) {
      assert.equal(checkTelegram(t).accepted, false, JSON.stringify(t));
      parseTelegram(t);
    }
  }
});
