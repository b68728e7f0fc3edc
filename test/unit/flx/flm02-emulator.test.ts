/**
 * The FLM02 board emulator on its own (requests written by hand, CRCs by a bit-by-bit CRC-8
 * here), and the host session playing against it in memory on one virtual clock: through the
 * AVR's 49.7-day ms wrap and a board reset, the totals the session passes on add up to the
 * board's truth exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flm02Emulator } from '../../../core/flx/flm02-emulator';
import { Flm02Session } from '../../../core/flx/flm02-session';
import { ReadingComputer } from '../../../core/readings/computer';
import { device, sid } from '../../support/device';
import { crc8 } from './support';

const req = (body: string) => Buffer.from(`l${body}${crc8(body)}.`, 'latin1');
const ask = (e: Flm02Emulator, body: string): string =>
  e
    .input(req(body))
    .map((b) => Buffer.from(b).toString('latin1'))
    .join('');
const reply = (body: string, uHex = '') => `l${body}${crc8(body)}.u${uHex}\0`;

test('emulator: honest CRCs, zz to a bad CRC, zy to a short request, set commands echoed and kept', () => {
  const e = new Flm02Emulator();
  assert.equal(ask(e, 'gh'), reply('gh000202'));
  assert.equal(
    e
      .input(Buffer.from('lgh94.', 'latin1'))
      .map((b) => Buffer.from(b).toString('latin1'))
      .join(''),
    reply('zz'),
    'bad CRC',
  );
  assert.equal(
    e
      .input(Buffer.from('lg.', 'latin1'))
      .map((b) => Buffer.from(b).toString('latin1'))
      .join(''),
    reply('zy'),
    'too short',
  );
  assert.equal(ask(e, 'qq'), reply('zz'), 'unknown command');
  assert.equal(ask(e, 'se0901'), reply('zz'), 'no sensor 9');
  assert.equal(ask(e, 'sm031234'), reply('sm031234'));
  assert.equal(ask(e, 'gm03'), reply('gm031234'));
  assert.equal(ask(e, 'sp00ffff0304ff'), reply('sp00ffff0304ff'));
  assert.equal(ask(e, 'gp'), reply('gp00ffff0304ff'));
  assert.equal(ask(e, 'gd'), reply('gd'), 'nothing changed yet');
  // noise before a request is skipped; a request split over chunks is one request
  const parts = [Buffer.from('\x00\x01junk', 'latin1'), req('gs').subarray(0, 2), req('gs').subarray(2)];
  assert.deepEqual(
    parts.flatMap((p) => e.input(p)).map((b) => Buffer.from(b).toString('latin1')),
    [reply('gs0100')],
  );
});

test('emulator: ct keeps the set values; reset() falls back to them, with the ms clock at 0 and milli lost', () => {
  const e = new Flm02Emulator({ pulses: [{ port: 4, rate: 10 }], avrMsStart: 5000 });
  for (const b of ['sp00ffff03ffff', 'sm030002', 'sf0301f4', 'se0301']) ask(e, b);
  ask(e, 'ct');
  assert.equal(e.configured, true);
  e.advance(1050); // 10 pulses of 2.5
  assert.equal(ask(e, 'gd'), reply('gd' + '03' + '00000019' + '0000' + (5000 + 1000).toString(16).padStart(8, '0')));
  e.advance(150); // one more: 27.5
  assert.equal(ask(e, 'gc03'), reply('gc03' + '0000001b'));
  e.reset();
  assert.equal(e.avrMs, 0);
  assert.equal(ask(e, 'gc03'), reply('gc0300000000'), 'the counter as committed');
  assert.equal(ask(e, 'gm03'), reply('gm030002'), 'the constant as committed');
  assert.equal(e.truth().resets, 1);
});

test("session against emulator, in memory: through the AVR ms wrap and a reset, the totals passed on equal the board's count", () => {
  const sensors = device([
    { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1] },
    { n: 4, id: sid(4), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1.25 },
  ]);
  const U32 = 2 ** 32;
  const board = new Flm02Emulator({
    clamps: [{ port: 1, watts: 1800 }],
    pulses: [{ port: 4, rate: 3 }],
    avrMsStart: U32 - 20_000,
  });
  const session = new Flm02Session({ sensors: sensors.sensors });
  const computer = new ReadingComputer(sensors);
  let host = Date.UTC(2026, 0, 1);
  const counters = new Map<string, number>();
  const step = (out: ReturnType<Flm02Session['tick']>) => {
    for (const b of out.batches) {
      for (const r of computer.process(b).readings) if (r.kind === 'counter') counters.set(r.sid, r.value);
    }
    for (const w of out.writes) for (const answer of board.input(w)) step(session.push(answer, host));
  };
  step(session.connected(host));
  let sawWrap = false;
  for (let ms = 0; ms < 120_000; ms += 50) {
    if (ms === 60_000) board.reset();
    host += 50;
    board.advance(50);
    if (board.avrMs < 1000 && ms < 60_000) sawWrap = true;
    step(session.tick(host));
  }
  assert.ok(sawWrap, 'the AVR clock wrapped during the run');
  const truth = board.truth();
  assert.equal(truth.commits, 2, "the sync's ct and the restore's");
  // the published counters are the board's own totals, exactly
  const board4 = truth.sensors[3]!;
  assert.equal(counters.get(sid(4)), board4.counter + board4.milli / 1000);
  assert.equal(counters.get(sid(1)), truth.sensors[0]!.counter);
  assert.equal(session.stats.restores, 2);
  assert.equal(session.stats.bad, 0);
  // what the reset cost: what the board counted between its reset and the write-back (one
  // poll: 3 pulses of 1.25 Wh, 0.5 Wh of clamp energy) and the fractions it held in RAM
  const solar = truth.ports.find((p) => p.port === 4)!;
  assert.ok(solar.pulses! > 300);
  const lostSolar = solar.total! - counters.get(sid(4))!;
  const lostClamp = Math.floor(truth.ports[0]!.pplusWh!) - counters.get(sid(1))!;
  assert.ok(lostSolar >= 0 && lostSolar <= 5 * 1.25, `${lostSolar} Wh of pulses lost`);
  assert.ok(lostClamp >= 0 && lostClamp <= 2, `${lostClamp} Wh of clamp energy lost`);
});
