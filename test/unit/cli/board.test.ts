import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFlm } from '../../support/cli';
import { parseClamp, parseKube, parsePulses } from '../../../core/cli/commands/board';

test('flm board emulate: clamp loads and pulse trains from their short forms', () => {
  assert.deepEqual(parseClamp('1:2300'), { port: 1, watts: 2300 });
  assert.deepEqual(parseClamp('3:-1500'), { port: 3, watts: -1500 });
  assert.deepEqual(parseClamp('2:200-5200@900,pf=0.9'), { port: 2, min: 200, max: 5200, periodS: 900, pf: 0.9 });
  assert.deepEqual(parsePulses('4:2.5'), { port: 4, rate: 2.5 });
  assert.deepEqual(parsePulses('6:3x10000', 20), { port: 6, rate: 3, count: 10000, jitterMs: 20 });
  assert.deepEqual(parseKube('3:flk01b'), { nid: 3, model: 'flk01b' });
  assert.deepEqual(parseKube('30:FLK01A,every=300,temperature=-5.5,humidity=80,motion=2,ack'), {
    nid: 30,
    model: 'flk01a',
    everyS: 300,
    temperature: -5.5,
    humidity: 80,
    motion: 2,
    ack: true,
  });
});

const usage: Array<[string[], RegExp]> = [
  [
    ['board', 'emulate', '--port', '/dev/null', '--clamp', '4:100'],
    /--clamp "4:100": use PORT:WATTS or PORT:MIN-MAX@PERIOD_S/,
  ],
  [['board', 'emulate', '--port', '/dev/null', '--clamp', '1:1-2@0'], /the period must be above 0 s/],
  [['board', 'emulate', '--port', '/dev/null', '--pulses', '2:1'], /--pulses "2:1": use PORT:RATE or PORT:RATExCOUNT/],
  [['board', 'emulate', '--port', '/dev/null', '--pulses', '4:5000'], /up to 1000 a second/],
  [['board', 'emulate', '--port', '/dev/null', '--pulses', '4:1', '--pulses', '4:2'], /port 4 is given twice/],
  [['board', 'emulate', '--port', '/dev/null', '--start', 'soon'], /--start: "soon" is not a date/],
  [['board', 'emulate', '--port', '/dev/null', '--kube', '31:flk01a'], /--kube "31:flk01a": use NID:MODEL/],
  [['board', 'emulate', '--port', '/dev/null', '--kube', '3:flk02'], /--kube "3:flk02": use NID:MODEL/],
  [['board', 'emulate', '--port', '/dev/null', '--kube', '3:flk01a,every=0'], /--kube "3:flk01a,every=0"/],
  [['board', 'emulate', '--port', '/dev/null', '--kube', '3:flk01a,colour=red'], /--kube "3:flk01a,colour=red"/],
  [['board', 'emulate', '--port', '/dev/null', '--kube', '3:flk01a', '--kube', '3:flk01b'], /Kube 3 is given twice/],
  [['board', 'emulate', '--speed', '2'], /^flm board emulate: --port: /],
  [['board', 'sniff', '--port', '/dev/null', '--baud', 'fast'], /^flm board sniff: --baud: /],
  [['board', 'sniff', '--port', '/dev/null', 'extra'], /unexpected argument "extra"/],
  [['board', 'sniff', '--port', '/dev/null', '--protocol', 'flm04'], /^flm board sniff: --protocol: /],
  [
    ['board', 'emulate', '--port', '/dev/null', '--protocol', 'flm02', '--clamp', '1:-500'],
    /an FLM02 clamp cannot see the direction of power/,
  ],
  [['board', 'emulate', '--port', '/dev/null', '--protocol', 'FLM02', '--pulses', '6:1'], /pulse port 6 is not 4 or 5/],
  [
    ['board', 'emulate', '--port', '/dev/null', '--protocol', 'flm02', '--avr-ms', 'soon'],
    /^flm board emulate: (--)?avr-ms: /,
  ],
];
for (const [args, re] of usage) {
  test(`flm ${args.join(' ')}: a usage error (exit 2)`, async () => {
    const r = await runFlm(args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, re);
    assert.match(r.err, /\(see flm board (emulate|sniff) --help\)\n$/);
  });
}

test('flm --help lists the board commands', async () => {
  const r = await runFlm(['--help']);
  assert.match(r.out, /^ {2}board sniff /m);
  assert.match(r.out, /^ {2}board emulate /m);
});
