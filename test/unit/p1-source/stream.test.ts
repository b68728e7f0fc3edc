import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P1Stream, type P1StreamEvent, type P1TelegramEvent, type P1ErrorEvent } from '../../../core/p1/source/stream';
import { fixture, fixtureBytes, telegramOf, withCrc, VALID_CRC, BAD_CRC, NO_CRC } from '../p1/fixtures';

const SMARTY_KEY = 'D491470F47126332B07D1923B3504188';
const SPEC_KEY = '0123456789abcdef0123456789abcdef';
const SPEC_AAD = 'ffeeddccbbaa99887766554433221100';

const telegrams = (events: P1StreamEvent[]) => events.filter((e): e is P1TelegramEvent => e.type === 'telegram');
const errors = (events: P1StreamEvent[]) => events.filter((e): e is P1ErrorEvent => e.type === 'error');

/** A deterministic generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Split bytes into chunks of 1..max bytes. */
function chunks(bytes: Buffer, rnd: () => number, max = 97): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length;) {
    const n = 1 + Math.floor(rnd() * max);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

test('every valid and CRC-less fixture comes through, in order, fed in random chunks with garbage between', () => {
  const rnd = lcg(7);
  const names = [...VALID_CRC, ...NO_CRC];
  const parts: Buffer[] = [Buffer.from('\x00\xff noise before anything \r\n!12')];
  for (const name of names) {
    parts.push(Buffer.from(telegramOf(fixture(name)), 'latin1'));
    // Garbage that holds neither "/" nor "!" can never make or break a telegram.
    parts.push(
      Buffer.from(
        Array.from(
          { length: 1 + Math.floor(rnd() * 40) },
          () => [0x00, 0x20, 0x41, 0x7a, 0xff, 0x0d, 0x0a][Math.floor(rnd() * 7)]!,
        ),
      ),
    );
  }
  const stream = new P1Stream({ latestOnly: false });
  const events: P1StreamEvent[] = [];
  for (const c of chunks(Buffer.concat(parts), rnd)) events.push(...stream.push(c));
  assert.deepEqual(errors(events), []);
  const got = telegrams(events);
  assert.deepEqual(
    got.map((e) => e.raw),
    names.map((n) => telegramOf(fixture(n))),
  );
  assert.deepEqual(
    got.map((e) => e.check.status),
    names.map((n) => (NO_CRC.includes(n) ? 'no-crc' : 'valid')),
  );
  const s = stream.stats;
  assert.equal(s.good, names.length);
  assert.equal(s.badCrc + s.unparsable + s.decryptFailed, 0);
  assert.ok(s.garbageBytes > names.length, `garbage counted: ${s.garbageBytes}`);
});

test("the parsed telegram is the core parser's: values read by hand from dsmr5-nl.txt", () => {
  const [e] = telegrams(new P1Stream().push(fixture('dsmr5-nl.txt')));
  assert.ok(e);
  assert.equal(e.telegram.equipmentId, 'K8EG004046395507');
  assert.deepEqual(e.telegram.electricity.delivered.tariff1, { value: 4.426, unit: 'kWh' });
  assert.deepEqual(e.telegram.electricity.power.delivered, { value: 0.244, unit: 'kW' });
  assert.equal(e.telegram.timestamp?.iso, '2017-01-02T18:20:02Z');
  assert.equal(e.check.status, 'valid');
  assert.equal(e.check.expected, 0x6eee);
});

test('latestOnly: of a backlog arriving in one chunk only the newest telegram is used, the rest counted', () => {
  const a = telegramOf(fixture('dsmr5-nl.txt'));
  const b = telegramOf(fixture('dsmr42-nl-kaifa.txt'));
  const c = telegramOf(fixture('dsmr5-be-fluvius.txt'));
  const stream = new P1Stream();
  const events = stream.push(a + b + c);
  assert.deepEqual(
    events.map((e) => (e as P1TelegramEvent).raw),
    [c],
  );
  assert.equal(stream.stats.backlogDropped, 2);
  assert.equal(stream.stats.good, 1);
  // One at a time, nothing is dropped.
  assert.equal(telegrams(stream.push(a)).length, 1);
  assert.equal(telegrams(stream.push(b)).length, 1);
  assert.equal(stream.stats.backlogDropped, 2);
});

test('strict: a bad CRC is rejected and counted; the error names the carried and the computed CRC', () => {
  for (const [name, carried, actual] of BAD_CRC) {
    const stream = new P1Stream();
    const [e] = stream.pushMessage(fixture(name));
    assert.equal(e?.type, 'error', name);
    const err = e as P1ErrorEvent;
    assert.equal(err.kind, 'crc');
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
    assert.match(err.message, new RegExp(`expected ${hex(carried)} .*computed ${hex(actual)}`), err.message);
    assert.equal(err.report, err.message);
    assert.equal(err.check?.status, 'mismatch');
    assert.deepEqual(stream.stats, { ...stream.stats, good: 0, badCrc: 1, unparsable: 0, decryptFailed: 0 });
  }
});

test('every changed byte of a CRC-carrying telegram is rejected in strict mode, and counted', () => {
  const t = telegramOf(fixture('dsmr42-nl-kaifa.txt'));
  const bang = t.indexOf('!');
  const stream = new P1Stream({ errorIntervalMs: 60_000, now: () => 0 });
  let accepted = 0;
  for (let i = 1; i < bang; i++) {
    const b = Buffer.from(t, 'latin1');
    b[i] = b[i] === 0x30 ? 0x31 : 0x30;
    for (const e of stream.pushMessage(b)) if (e.type === 'telegram') accepted++;
  }
  assert.equal(accepted, 0);
  const s = stream.stats;
  assert.equal(s.badCrc + s.unparsable, bang - 1);
  assert.ok(s.badCrc > 0);
});

test('repeated errors are rate-limited: the first at once, then one per interval with the number held back', () => {
  let now = 1_000_000;
  const stream = new P1Stream({ errorIntervalMs: 60_000, now: () => now });
  const bad = fixture('be-emucs-2.1.1-spec-example.txt');
  const reports: Array<string | null> = [];
  for (let i = 0; i < 30; i++) {
    reports.push((stream.pushMessage(bad)[0] as P1ErrorEvent).report);
    now += 1000;
  }
  assert.match(reports[0]!, /bad CRC: expected 1234/);
  assert.deepEqual(reports.slice(1), new Array(29).fill(null));
  now += 30_000; // 60 s after the first report
  const next = (stream.pushMessage(bad)[0] as P1ErrorEvent).report;
  assert.match(next!, /bad CRC: expected 1234 .*\(and 29 more like it in the last 60 s\)$/);
  assert.equal(stream.stats.badCrc, 31);
  // Kinds are limited apart: an unreadable message is reported at once.
  const other = stream.pushMessage('no telegram at all')[0] as P1ErrorEvent;
  assert.equal(other.kind, 'unparsable');
  assert.match(other.report!, /no telegram in the message/);
});

test('warn mode passes a bad CRC on, counts it, and gives a rate-limited warning', () => {
  let now = 0;
  const stream = new P1Stream({ mode: 'warn', now: () => now });
  const bad = fixture('smarty-lu-spec-example.txt');
  const [first] = stream.pushMessage(bad) as P1TelegramEvent[];
  assert.equal(first?.type, 'telegram');
  assert.equal(first.check.status, 'mismatch');
  assert.match(first.warning!, /passed on \(CRC mode warn\): bad CRC: expected 8B52 .*computed 6DA1/);
  now += 1000;
  const [second] = stream.pushMessage(bad) as P1TelegramEvent[];
  assert.equal(second?.warning, null);
  const [good] = stream.pushMessage(fixture('dsmr5-nl.txt')) as P1TelegramEvent[];
  assert.equal(good?.warning, undefined);
  assert.deepEqual([stream.stats.good, stream.stats.badCrc], [3, 2]);
});

test('CRC off accepts a bad CRC but still rejects what holds no COSEM object at all', () => {
  const stream = new P1Stream({ mode: 'off' });
  const [e] = stream.pushMessage(fixture('be-emucs-2.1.1-spec-example.txt'));
  assert.equal(e?.type, 'telegram');
  assert.equal((e as P1TelegramEvent).check.status, 'unchecked');
  const [empty] = stream.pushMessage('/ABC5 nothing here\r\n\r\n!\r\n');
  assert.equal(empty?.type, 'error');
  assert.equal((empty as P1ErrorEvent).kind, 'unparsable');
  assert.equal(stream.stats.unparsable, 1);
});

test('a DSMR 4+ telegram without its CRC is a CRC error; a malformed one is unparsable', () => {
  const stream = new P1Stream();
  const t = telegramOf(fixture('dsmr5-nl.txt'));
  const noCrc = t.slice(0, t.indexOf('!') + 1) + '\r\n';
  const [a] = stream.pushMessage(noCrc) as P1ErrorEvent[];
  assert.equal(a?.kind, 'crc');
  assert.equal(a.check?.status, 'missing-crc');
  // A line that is no COSEM object, under a correct CRC.
  const broken = withCrc('/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000004.426*kWh)\r\nthis is not an object\r\n!');
  const [b] = stream.pushMessage(broken) as P1ErrorEvent[];
  assert.equal(b?.kind, 'unparsable');
  assert.match(b.message, /line 4 is not a COSEM object/);
  assert.deepEqual([stream.stats.badCrc, stream.stats.unparsable], [1, 1]);
});

test('whole messages: LF-only text is repaired, Buffers and strings both work, an empty message is an error', () => {
  const stream = new P1Stream();
  const lfOnly = fixture('dsmr5-nl.txt').replace(/\r\n/g, '\n');
  assert.equal(telegrams(stream.pushMessage(lfOnly))[0]?.check.status, 'valid');
  assert.equal(telegrams(stream.pushMessage(fixtureBytes('dsmr5-hu-eon.txt')))[0]?.check.status, 'valid');
  // Q3D: the gateway's trailer after the telegram is garbage, not an error.
  const q3d = telegrams(stream.pushMessage(fixtureBytes('q3d-easymeter.txt')));
  assert.equal(q3d.length, 1);
  const [none] = stream.pushMessage(Buffer.alloc(0)) as P1ErrorEvent[];
  assert.equal(none?.kind, 'unparsable');
  assert.equal(stream.stats.good, 3);
});

test('end(): the last telegram of a stream may lack its CR LF; reset() forgets a partial one', () => {
  const t = telegramOf(fixture('dsmr5-nl.txt'));
  const stream = new P1Stream();
  assert.deepEqual(stream.push(t.slice(0, -2)), []);
  assert.equal(telegrams(stream.end()).length, 1);
  stream.push(t.slice(0, 300));
  stream.reset();
  assert.deepEqual(stream.push(t.slice(300)), []);
  assert.equal(telegrams(stream.push(t)).length, 1);
});

test('Smarty: the encrypted frame, in random chunks between noise, decrypts with the key from SOURCES.md', () => {
  const frame = fixtureBytes('smarty-lu-encrypted.bin');
  // The test vector's CRC was never updated (SOURCES.md), so warn mode.
  const stream = new P1Stream({ smarty: { key: SMARTY_KEY }, mode: 'warn', latestOnly: false });
  const input = Buffer.concat([Buffer.from('noise\x00\x01'), frame, Buffer.from([0x7e, 0x7e]), frame]);
  const events: P1StreamEvent[] = [];
  for (const c of chunks(input, lcg(3), 50)) events.push(...stream.push(c));
  const got = telegrams(events);
  assert.equal(got.length, 2);
  assert.equal(got[0]!.raw, telegramOf(fixture('smarty-lu-encrypted.decrypted.txt').replace(/\r?\n/g, '\r\n')));
  assert.equal(got[0]!.telegram.logicalDeviceName, 'SAG1030700114004SAG1030700114004SAG1030700114004');
  assert.deepEqual(got[0]!.telegram.electricity.delivered.total, { value: 6.695, unit: 'kWh' });
  assert.equal(stream.stats.frames, 2);
  assert.equal(stream.encrypted, true);
});

test('Smarty: the specification example decrypts with its own authentication key; hex text works as a message', () => {
  const frame = fixtureBytes('smarty-lu-spec-example-encrypted.bin');
  const stream = new P1Stream({ smarty: { key: SPEC_KEY, authKey: SPEC_AAD }, mode: 'warn' });
  const [e] = telegrams(stream.pushMessage(frame.toString('hex')));
  assert.ok(e);
  assert.equal(e.telegram.header.manufacturer, 'Lux');
  assert.equal(e.raw, fixture('smarty-lu-spec-example.txt') + '\r\n');
});

test('Smarty: a wrong key is "decryption failed: check the key", counted, never garbage', () => {
  const stream = new P1Stream({ smarty: { key: SMARTY_KEY.replace(/8$/, '9') } });
  const [e] = stream.pushMessage(fixtureBytes('smarty-lu-encrypted.bin')) as P1ErrorEvent[];
  assert.equal(e?.kind, 'decrypt');
  assert.match(e.message, /decryption failed: check the key/);
  assert.equal(stream.stats.decryptFailed, 1);
  assert.equal(stream.stats.good, 0);
  // A plain telegram is no Smarty frame.
  const [p] = stream.pushMessage(fixture('dsmr5-nl.txt')) as P1ErrorEvent[];
  assert.equal(p?.kind, 'unparsable');
  assert.match(p.message, /no Smarty frame/);
});

test('a key that is not 32 hex characters is refused up front', () => {
  assert.throws(() => new P1Stream({ smarty: { key: 'abc' } }), /Smarty key must be 32 hex/);
  assert.throws(
    () => new P1Stream({ smarty: { key: SMARTY_KEY, authKey: 'xyz' } }),
    /authentication key must be 32 hex/,
  );
  assert.doesNotThrow(() => new P1Stream({ smarty: { key: SMARTY_KEY, authKey: null } }));
});

test('random bytes and truncated telegrams never throw and never pass a corrupted telegram in strict mode', () => {
  const rnd = lcg(11);
  const stream = new P1Stream({ latestOnly: false });
  const good = telegramOf(fixture('dsmr5-be-fluvius.txt'));
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const cut = good.slice(0, Math.floor(rnd() * good.length));
    const noise = Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
    for (const e of stream.push(Buffer.concat([Buffer.from(cut, 'latin1'), noise]))) {
      if (e.type === 'telegram') {
        accepted++;
        assert.equal(e.raw, good);
      }
    }
  }
  for (const e of stream.push(good)) if (e.type === 'telegram') accepted++;
  assert.ok(accepted >= 1);
});
