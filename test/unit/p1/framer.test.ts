import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P1Framer, extractTelegrams, DEFAULT_MAX_TELEGRAM_BYTES } from '../../../core/p1/framer';
import { checkTelegram } from '../../../core/p1/check';
import { prng } from '../../../core/util/prng';
import { ALL_TELEGRAMS, fixture, telegramOf, withCrc } from './fixtures';

const KAIFA = fixture('dsmr42-nl-kaifa.txt');
const NL5 = fixture('dsmr5-nl.txt');
const BE = fixture('dsmr5-be-fluvius.txt');

function feedAll(framer: P1Framer, chunks: string[]): string[] {
  const out: string[] = [];
  for (const c of chunks) out.push(...framer.push(c));
  return out;
}

test('each fixture frames to exactly its telegram', () => {
  for (const name of ALL_TELEGRAMS) {
    const text = fixture(name);
    const framer = new P1Framer();
    const out = [...framer.push(text), ...framer.end()];
    assert.deepEqual(out, [telegramOf(text)], name);
  }
});

test('telegrams arrive as whole CR LF terminated strings, in order, several per chunk', () => {
  const framer = new P1Framer();
  const out = framer.push(KAIFA + NL5 + BE);
  assert.deepEqual(out, [KAIFA, NL5, BE]);
  assert.equal(framer.stats.frames, 3);
  assert.equal(framer.stats.garbageBytes, 0);
  assert.equal(framer.bufferedBytes, 0);
});

test('split at every byte boundary, the telegram comes out once and unchanged', () => {
  for (const name of ['dsmr42-nl-kaifa.txt', 'dsmr22-nl.txt', 'dsmr5-be-fluvius-alt.txt', 'q3d-easymeter.txt']) {
    const text = fixture(name);
    for (let k = 0; k <= text.length; k++) {
      const framer = new P1Framer();
      const out = [...framer.push(text.slice(0, k)), ...framer.push(text.slice(k)), ...framer.end()];
      assert.deepEqual(out, [telegramOf(text)], `${name} split at ${k}`);
    }
  }
});

test('fed one byte at a time, as Buffers', () => {
  const bytes = Buffer.from(KAIFA + BE + NL5, 'latin1');
  const framer = new P1Framer();
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(...framer.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(out, [KAIFA, BE, NL5]);
});

test('random chunk sizes over a stream of every fixture, several seeds', () => {
  const names = ALL_TELEGRAMS;
  const stream = names.map(fixture).join('');
  // The last two fixtures of the stream list have no CR LF after the CRC and run into the next one.
  const expected = [...new P1Framer().push(stream)];
  assert.ok(expected.length >= names.length - 2, `got ${expected.length}`);
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = prng(seed);
    const framer = new P1Framer();
    const out: string[] = [];
    for (let i = 0; i < stream.length;) {
      const n = 1 + Math.floor(rnd() * 700);
      out.push(...framer.push(Buffer.from(stream.slice(i, i + n), 'latin1')));
      i += n;
    }
    assert.deepEqual(out, expected, `seed ${seed}`);
  }
});

test('garbage before, between and inside telegrams: the good ones are found, the cut one dropped', () => {
  const half = NL5.slice(0, 300);
  const stream = 'noise\xff\x00\r\n' + KAIFA + 'xx/ yy' + BE + half + KAIFA + '\r\n\xff\xfe' + NL5;
  const framer = new P1Framer();
  const out = framer.push(stream);
  assert.deepEqual(out, [KAIFA, BE, KAIFA, NL5]);
  const s = framer.stats;
  assert.equal(s.frames, 4);
  // "/ yy" starts a candidate that BE's "/" replaces; the cut NL5 is replaced by KAIFA's "/".
  assert.equal(s.truncated, 2);
  assert.equal(s.garbageBytes, 'noise\xff\x00\r\n'.length + 'xx/ yy'.length + half.length + '\r\n\xff\xfe'.length);
  for (const t of out) assert.equal(checkTelegram(t).status, 'valid');
});

test('a stream that starts mid-telegram resynchronises on the next one', () => {
  const framer = new P1Framer();
  assert.deepEqual(framer.push(KAIFA.slice(500) + NL5), [NL5]);
  assert.equal(framer.stats.garbageBytes, KAIFA.length - 500);
});

test('a second "/" in a plausible header line is part of it (Holley /HLY5/D545-METER)', () => {
  const holley = withCrc('/HLY5/D545-METER\r\n\r\n1-0:1.8.1(00007137.694*kWh)\r\n!');
  const framer = new P1Framer();
  assert.deepEqual(framer.push('junk' + holley + NL5), [holley, NL5]);
  assert.equal(checkTelegram(holley).status, 'valid');
});

test('a NUL before CR LF is accepted and left out of the telegram', () => {
  const withNul = KAIFA.replace('!6796\r\n', '!6796\0\r\n');
  const out = new P1Framer().push(withNul);
  assert.deepEqual(out, [KAIFA]);
  assert.equal(checkTelegram(out[0]!).status, 'valid');
  // Byte by byte too: the NUL may arrive alone.
  const framer = new P1Framer();
  assert.deepEqual(feedAll(framer, [...withNul]), [KAIFA]);
});

test('1 to 4 CRC digits, and no CRC at all, are framed', () => {
  for (const crc of ['', 'A', '1B', 'B9F', '6796']) {
    const t = `/KFM5KAIFA-METER\r\n\r\n1-0:1.8.1(001581.123*kWh)\r\n!${crc}\r\n`;
    assert.deepEqual(new P1Framer().push(t), [t], JSON.stringify(crc));
  }
});

test('an end marker with five digits or other text after it is malformed, and the next telegram still comes', () => {
  const framer = new P1Framer();
  const bad = KAIFA.replace('!6796', '!67961');
  const worse = NL5.replace('!6EEE', '!6E-E');
  assert.deepEqual(framer.push(bad + worse + BE), [BE]);
  assert.equal(framer.stats.malformed, 2);
});

test('trailers after the CRC (EasyMeter gateway line, 0xFF fill) are dropped as garbage', () => {
  const q3d = fixture('q3d-easymeter.txt');
  const framer = new P1Framer();
  const out = framer.push(q3d + q3d + KAIFA);
  assert.deepEqual(out, [telegramOf(q3d), telegramOf(q3d), KAIFA]);
  assert.equal(framer.stats.garbageBytes, 2 * (q3d.length - telegramOf(q3d).length));
});

test('end() returns a last telegram that lacks its CR LF; push alone waits for it', () => {
  const spec = fixture('smarty-lu-spec-example.txt');
  assert.ok(spec.endsWith('!8B52'));
  const framer = new P1Framer();
  assert.deepEqual(framer.push(spec), []);
  assert.deepEqual(framer.end(), [spec + '\r\n']);
  assert.equal(framer.bufferedBytes, 0);
  // A partial telegram at the end is not a telegram.
  const f2 = new P1Framer();
  f2.push(KAIFA.slice(0, 400));
  assert.deepEqual(f2.end(), []);
  assert.equal(f2.stats.garbageBytes, 400);
});

test('latestOnly drops a backlog and keeps the freshest complete telegram', () => {
  const framer = new P1Framer({ latestOnly: true });
  assert.deepEqual(framer.push(KAIFA + NL5 + BE + KAIFA.slice(0, 100)), [BE]);
  assert.equal(framer.stats.backlogDropped, 2);
  assert.deepEqual(framer.push(KAIFA.slice(100)), [KAIFA]);
  assert.equal(framer.stats.frames, 4);
});

test('telegrams up to 16 KiB are accepted; longer ones are counted as oversize and dropped', () => {
  const line = '1-0:99.97.0(0)(0-0:96.7.19)\r\n';
  const build = (targetBytes: number): string => {
    let body = '/KFM5KAIFA-METER\r\n\r\n';
    while (body.length + line.length + 7 <= targetBytes) body += line;
    return withCrc(body + '!');
  };
  const big = build(DEFAULT_MAX_TELEGRAM_BYTES);
  assert.ok(big.length > 16_000 && big.length <= DEFAULT_MAX_TELEGRAM_BYTES, String(big.length));
  const tooBig = build(DEFAULT_MAX_TELEGRAM_BYTES + 200);
  assert.ok(tooBig.length > DEFAULT_MAX_TELEGRAM_BYTES);

  for (const chunk of [100_000, 1000, 1]) {
    const stream = big + tooBig + KAIFA + tooBig.slice(0, 9000) + NL5;
    const framer = new P1Framer();
    const out: string[] = [];
    for (let i = 0; i < stream.length; i += chunk) out.push(...framer.push(stream.slice(i, i + chunk)));
    assert.deepEqual(out, [big, KAIFA, NL5], `chunk ${chunk}`);
    assert.equal(framer.stats.oversize, 1, `chunk ${chunk}`);
    assert.equal(checkTelegram(out[0]!).status, 'valid');
  }
});

test('buffered memory stays bounded whatever arrives', () => {
  const framer = new P1Framer({ maxTelegramBytes: 4096 });
  const noSlash = Buffer.alloc(1 << 20, 0x41);
  framer.push(noSlash);
  assert.equal(framer.bufferedBytes, 0);
  framer.push('/KFM5');
  for (let i = 0; i < 100; i++) {
    framer.push(Buffer.alloc(1000, 0x30));
    assert.ok(framer.bufferedBytes <= 4096, String(framer.bufferedBytes));
  }
  assert.ok(framer.stats.oversize >= 1);
  // Still in step once the flood stops: the next line-initial "/" begins a telegram.
  assert.deepEqual(framer.push('\r\n' + KAIFA), [KAIFA]);
});

test('reset() forgets a partial telegram', () => {
  const framer = new P1Framer();
  framer.push(KAIFA.slice(0, 200));
  framer.reset();
  assert.equal(framer.bufferedBytes, 0);
  assert.deepEqual(framer.push(KAIFA.slice(200) + NL5), [NL5]);
});

test('extractTelegrams: a whole message, CRs lost in a hand copy put back so the CRC holds', () => {
  const lfOnly = KAIFA.replace(/\r\n/g, '\n');
  const [t] = extractTelegrams(lfOnly);
  assert.equal(t, KAIFA);
  assert.equal(checkTelegram(t!).status, 'valid');
  assert.deepEqual(extractTelegrams(Buffer.from('  ' + NL5.trimEnd())), [NL5]);
  assert.deepEqual(extractTelegrams(KAIFA + NL5, { latestOnly: true }), [NL5]);
  assert.deepEqual(extractTelegrams('no telegram here'), []);
});
