import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FLM02_COMMANDS,
  decodeFlm02Reply,
  decodeFlm02Request,
  encodeFlm02Read,
  encodeFlm02Reply,
  encodeFlm02Request,
  encodeFlm02Uart,
  formatFlm02,
  parseFlm02Read,
  type Flm02Command,
} from '../../../core/flx/flm02';
import { Flm02DeltaDecoder, formatDeltaLine } from '../../../core/flx/flm02-delta';
import { boardBatchSchema } from '../../../core/mqtt/board-batch';
import { device, sid } from '../../support/device';
import { crc8 } from './support';

const handFrame = (body: string): string => `l${body}${crc8(body)}.`;

test('request frames: lgd30., lgh93., lct96. as the docs give them', () => {
  assert.equal(encodeFlm02Request('gd'), 'lgd30.');
  assert.equal(encodeFlm02Request('gh'), 'lgh93.');
  assert.equal(encodeFlm02Request('ct'), 'lct96.');
  assert.equal(encodeFlm02Request('se', [0, 1]), handFrame('se0001'));
  assert.equal(encodeFlm02Request('sc', [2, 0xdeadbeef]), handFrame('sc02deadbeef'));
});

/** Arguments that use each field's full width at least once. */
function sample(widths: readonly number[], seed: number): number[] {
  return widths.map((w, i) => ((i + seed) % 3 === 0 ? 16 ** w - 1 : (seed * 7919 + i * 104729) % 16 ** w));
}

test('every command: request and reply round-trip through encode and decode, and read as spid prints them', () => {
  const cmds = Object.keys(FLM02_COMMANDS) as Flm02Command[];
  assert.equal(cmds.length, 28);
  cmds.forEach((cmd, k) => {
    const shape = FLM02_COMMANDS[cmd];
    const args = sample(shape.request, k);
    const req = encodeFlm02Request(cmd, args);
    assert.match(req, /^l[a-z]{2}[0-9a-f]*[0-9a-f]{2}\.$/);
    assert.deepEqual(decodeFlm02Request(req), { ok: true, message: { cmd, values: args } }, cmd);
    if (shape.reply === 'delta') return;
    const values = sample(shape.reply, k + 1);
    const reply = encodeFlm02Reply(cmd, values);
    const r = decodeFlm02Reply(reply);
    assert.deepEqual(r, { ok: true, message: { cmd, values } }, cmd);
    assert.ok(r.ok);
    assert.equal(formatFlm02(r.message), [cmd, ...values].join(' '));
  });
});

test('a set reply reads the same as the request it echoes, as fsync checks', () => {
  const req = decodeFlm02Request(encodeFlm02Request('se', [0, 1]));
  const rep = decodeFlm02Reply(handFrame('se0001'));
  assert.ok(req.ok && rep.ok);
  assert.equal(formatFlm02(rep.message), 'se 0 1');
  assert.equal(formatFlm02(rep.message), formatFlm02(req.message));
  const gh = decodeFlm02Reply(handFrame('gh000202'));
  assert.ok(gh.ok);
  assert.equal(formatFlm02(gh.message), 'gh 2 2');
});

test('decoding refuses bad CRCs, bad hex, wrong lengths and unknown commands, and takes upper-case hex', () => {
  const bad = (text: string) => {
    const r = decodeFlm02Reply(text);
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(bad('lgd31.'), 'crc');
  assert.equal(bad(handFrame('gh000202').replace(/..\.$/, (c) => `${c[0] === '0' ? '1' : '0'}${c.slice(1)}`)), 'crc');
  assert.equal(bad('xgd30.'), 'frame');
  assert.equal(bad('lg.'), 'frame');
  assert.equal(bad(handFrame('gh0002')), 'args');
  assert.equal(bad(handFrame('gh00020x')), 'args');
  assert.equal(bad(handFrame('qq')), 'command');
  assert.equal(bad(handFrame('gd' + '0'.repeat(21))), 'args');
  assert.equal(bad('lgd3G.'), 'frame');
  // the CRC is over the characters as sent
  const upper = handFrame('gc01DEADBEEF');
  assert.deepEqual(decodeFlm02Reply(upper), { ok: true, message: { cmd: 'gc', values: [1, 0xdeadbeef] } });
  assert.deepEqual(
    decodeFlm02Reply(handFrame('gh000202').toUpperCase().replace(/^L/, 'l')).ok,
    false,
    'command letters are lower case',
  );
  // the board's own complaints
  assert.deepEqual(decodeFlm02Reply(handFrame('zz')), { ok: true, message: { cmd: 'zz', values: [] } });
  assert.deepEqual(decodeFlm02Reply(handFrame('zy')), { ok: true, message: { cmd: 'zy', values: [] } });
  // no trailing '.' is accepted, as spid's pattern allows
  assert.equal(decodeFlm02Reply('lgd30').ok, true);
});

test('encoders refuse arguments that do not fit', () => {
  assert.throws(() => encodeFlm02Request('se', [0]), RangeError);
  assert.throws(() => encodeFlm02Request('se', [256, 1]), RangeError);
  assert.throws(() => encodeFlm02Request('sc', [0, 2 ** 32]), RangeError);
  assert.throws(() => encodeFlm02Request('sm', [0, -1]), RangeError);
  assert.throws(() => encodeFlm02Request('sm', [0, 1.5]), RangeError);
});

/** gd reply by hand: sensor 0 (clamp) 123456 Wh at 742 W; sensor 3 (pulse) 5012.500 at AVR ms 86400123. */
const GD_BODY = 'gd' + '00' + '0001e240' + '0000' + '000002e6' + '03' + '00001394' + '01f4' + '05265c7b';

test("gd: a hand-built reply decodes to its records and to spid's delta line", () => {
  const r = decodeFlm02Reply(handFrame(GD_BODY));
  assert.ok(r.ok);
  assert.deepEqual(r.message.records, [
    { sensor: 0, counter: 123456, milli: 0, extra: 742 },
    { sensor: 3, counter: 5012, milli: 500, extra: 86400123 },
  ]);
  assert.equal(formatDeltaLine(1449999999, r.message.records!), '1449999999 0 123456 742 3 5012.5 86400123');
  assert.equal(encodeFlm02Reply('gd', [], r.message.records), handFrame(GD_BODY));
  assert.deepEqual(decodeFlm02Reply(handFrame('gd')), { ok: true, message: { cmd: 'gd', values: [], records: [] } });
});

test('a whole SPI read splits into control reply and radio bytes', () => {
  const read = `${handFrame(GD_BODY)}ud4050006\0`;
  assert.deepEqual(parseFlm02Read(read), { control: handFrame(GD_BODY), uart: Uint8Array.of(0xd4, 0x05, 0x00, 0x06) });
  assert.deepEqual(parseFlm02Read('l.u\0'), { control: null, uart: new Uint8Array(0) });
  assert.equal(parseFlm02Read('garbage'), null);
  assert.equal(parseFlm02Read('l.uabc\0'), null, 'odd number of hex digits');
  assert.equal(encodeFlm02Read(handFrame(GD_BODY), Uint8Array.of(0xd4, 5, 0, 6)), read);
  assert.equal(encodeFlm02Uart(Uint8Array.of(0xd4, 0x05)), 'ud405');
});

const FLM02_TABLE = device([
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1] },
  { n: 4, id: sid(4), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  { n: 5, id: sid(5), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 2.5 },
]).sensors;
const P = Date.UTC(2026, 0, 1);
const rec = (sensor: number, counter: number, milli: number, extra: number) => ({ sensor, counter, milli, extra });

test('gd → BoardBatch: power as is, pulses from counter differences, pulse times on the AVR clock', () => {
  const d = new Flm02DeltaDecoder({ sensors: FLM02_TABLE });
  let r = d.toBatch([rec(0, 100, 0, 500), rec(3, 1000, 0, 10_000), rec(4, 10, 0, 10_000)], P);
  assert.deepEqual(
    r,
    { batch: { time: P, records: [{ kind: 'analog', port: 1, power: 500 }] }, warnings: [] },
    'first pulse reports are baselines',
  );

  r = d.toBatch([rec(0, 100, 0, 510), rec(3, 1003, 0, 10_900), rec(4, 17, 500, 10_950)], P + 1000);
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.batch.records, [
    { kind: 'analog', port: 1, power: 510 },
    // one offset for the poll: the later pulse (gas, AVR 10950) lands on the poll time
    { kind: 'pulse', port: 4, pulses: 3, time: P + 950 },
    { kind: 'pulse', port: 5, pulses: 3, time: P + 1000 },
  ]);
  boardBatchSchema.parse(r.batch);

  // a later pulse that looks older keeps the offset: AVR differences stay exact
  r = d.toBatch([rec(3, 1004, 0, 11_500)], P + 2000);
  assert.deepEqual(r.batch.records, [{ kind: 'pulse', port: 4, pulses: 1, time: P + 1550 }]);
  // one that looks younger lowers it
  r = d.toBatch([rec(3, 1005, 0, 12_990)], P + 3000);
  assert.deepEqual(r.batch.records, [{ kind: 'pulse', port: 4, pulses: 1, time: P + 3000 }]);
});

test('gd → BoardBatch: AVR reset, counter wrap, constant mismatch and nonsense are warned about, never thrown', () => {
  const d = new Flm02DeltaDecoder({ sensors: FLM02_TABLE });
  d.toBatch([rec(3, 1000, 0, 50_000)], P);
  d.toBatch([rec(3, 1001, 0, 50_900)], P + 1000);

  // the AVR restarted: its ms clock is back near 0 and the counter fell back to the EEPROM copy
  let r = d.toBatch([rec(3, 990, 0, 300)], P + 2000);
  assert.deepEqual(r.batch.records, []);
  assert.match(r.warnings[0]!, /counter went back from 1001 to 990/);
  r = d.toBatch([rec(3, 992, 0, 1_200)], P + 3000);
  assert.deepEqual(
    r.batch.records,
    [{ kind: 'pulse', port: 4, pulses: 2, time: P + 3000 }],
    'the clock offset is taken afresh',
  );

  // a u32 wrap is counted through
  const w = new Flm02DeltaDecoder({ sensors: FLM02_TABLE });
  w.toBatch([rec(3, 0xffffffff, 0, 5)], P);
  r = w.toBatch([rec(3, 2, 0, 800)], P + 1000);
  assert.deepEqual(r.batch.records, [{ kind: 'pulse', port: 4, pulses: 3, time: P + 1000 }]);

  // the board's constant is not the table's: 3 units at 2.5 per pulse
  const g = new Flm02DeltaDecoder({ sensors: FLM02_TABLE });
  g.toBatch([rec(4, 10, 0, 5)], P);
  r = g.toBatch([rec(4, 13, 0, 900)], P + 1000);
  const first = r.batch.records[0];
  assert.ok(first?.kind === 'pulse');
  assert.equal(first.pulses, 1);
  assert.match(r.warnings[0]!, /not a whole number of pulses of 2.5/);

  r = g.toBatch([rec(0, 0, 0, 20_000_000), rec(9, 0, 0, 0), rec(4, 0xffffffff, 0, 1000)], P + 2000);
  assert.deepEqual(r.batch.records, []);
  assert.equal(r.warnings.length, 3);
  assert.match(r.warnings.join('\n'), /not plausible[\s\S]*sensors 0\.\.5[\s\S]*counter set/);
});

test('gd → BoardBatch without a sensor table: sensor n on port n, constant 1; one analog sensor on an FLM02B', () => {
  const d = new Flm02DeltaDecoder({ analogSensors: 1 });
  d.toBatch([rec(1, 7, 0, 100)], P);
  const r = d.toBatch([rec(0, 5, 0, 42), rec(1, 9, 0, 600)], P + 1000);
  assert.deepEqual(r.batch.records, [
    { kind: 'analog', port: 1, power: 42 },
    { kind: 'pulse', port: 2, pulses: 2, time: P + 1000 },
  ]);
});

test('a gd reply frame straight to a batch; a damaged one gives an empty batch and a warning', () => {
  const d = new Flm02DeltaDecoder({ sensors: FLM02_TABLE });
  const r = d.decodeReply(handFrame(GD_BODY), P);
  assert.deepEqual(r.batch.records, [{ kind: 'analog', port: 1, power: 742 }]);
  const bad = d.decodeReply(handFrame(GD_BODY).replace('000002e6', '000002e7'), P);
  assert.deepEqual(bad.batch.records, []);
  assert.match(bad.warnings[0]!, /gd reply dropped/);
  assert.match(d.decodeReply(handFrame('gh000202'), P).warnings[0]!, /expected a gd reply/);
});
