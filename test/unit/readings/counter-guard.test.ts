/**
 * The running-total checks of the reading computation (counter-guard.ts): real events pass and
 * lose nothing (a board restart at 0, a long outage of the link, a host restart, a board
 * restarted or replaced meanwhile), corrupted totals count nothing, and each rule says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadingComputer, type BatchResult } from '../../../core/readings/computer';
import { mayBeFlippedUp } from '../../../core/readings/counter-guard';
import { totalLimit } from '../../../core/config/limits';
import type { PortRecord } from '../../../core/mqtt/board-batch';
import type { SensorInput } from '../../../core/config/schema';
import { device, sid, T0 } from '../../support/device';

const CLAMP: SensorInput[] = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 50 },
];
const SOLAR: SensorInput[] = [
  { n: 1, id: sid(1), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
];

/** A computer whose host clock the test moves; `feed` sends one total per call, `t` ms after T0 on both clocks. */
function rig(sensors: SensorInput[], state = { sensors: {} }) {
  let host = T0;
  const c = new ReadingComputer(device(sensors), state, { now: () => host });
  const published: number[] = [];
  const feed = (t: number, value: number, port = sensors[0]!.port![0]!): BatchResult => {
    host = T0 + t;
    const r = c.process({ time: T0 + t, records: [{ kind: 'counter', port, value } as PortRecord] });
    for (const x of r.readings) if (x.kind === 'counter') published.push(x.value);
    return r;
  };
  return { c, feed, published, last: () => published.at(-1) };
}

test('limits: a 50 A clamp at 230 V counts at most 23 kW (6.39 Wh a second); a 1 Wh pulse meter 50 Wh a second', () => {
  const dev = device([
    ...CLAMP,
    { n: 2, id: sid(2), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 2.5 },
  ]);
  assert.equal(totalLimit(dev.sensors[0]!, 1).perSecond, (50 * 230 * 2) / 3600);
  assert.equal(totalLimit(dev.sensors[0]!, 3).perSecond, (50 * 230 * 2 * 3) / 3600);
  assert.deepEqual(totalLimit(dev.sensors[1]!, 1), { perSecond: 125, pulseMilli: 2500, what: '50 pulses/s of 2.5' });
});

test('a board restart at 0 is counted at once and loses nothing', () => {
  const { feed, last, c } = rig(SOLAR);
  feed(0, 500);
  feed(1000, 510);
  const r = feed(2000, 3);
  assert.equal(last(), 513);
  assert.match(r.notices[0]!, /solar.*port 4.*restart at 0, 3 counted/);
  assert.deepEqual(r.errors, []);
  feed(3000, 6);
  assert.equal(last(), 516);
  assert.equal(c.guardStats.restarts, 1);
});

test('a long outage of the link while the board counts on: all of it is counted, one report later', () => {
  const { feed, last, c } = rig(CLAMP);
  feed(0, 1000);
  feed(1000, 1001);
  // two hours at 3 kW: 6000 Wh, well within 23 kW × 2 h
  let r = feed(1000 + 7_200_000, 7001);
  assert.deepEqual(r.errors, []);
  assert.equal(last(), 1001, 'more than a second can count waits for the next total');
  r = feed(2000 + 7_200_000, 7002);
  assert.equal(last(), 7002);
  assert.equal(c.guardStats.deferred, 1);
});

test('a host restart: the board counted for hours while Node-RED was down; the first total is counted from the saved one', () => {
  const a = rig(SOLAR);
  a.feed(0, 100);
  a.feed(1000, 101);
  const saved = JSON.parse(JSON.stringify(a.c.snapshot()));
  const b = rig(SOLAR, saved);
  b.feed(50_000_000, 90_101);
  assert.equal(b.last(), 90_101, '90,000 pulses counted while down');
  b.feed(50_001_000, 90_102);
  assert.equal(b.last(), 90_102);
});

test('a host restart after the board restarted too: a first total below the saved one waits for the next, then counts from 0', () => {
  const a = rig(SOLAR);
  a.feed(0, 5000);
  const b = rig(SOLAR, JSON.parse(JSON.stringify(a.c.snapshot())));
  b.feed(60_000_000, 40);
  assert.equal(b.last(), 5000, 'the saved counter is published, nothing added yet');
  const r = b.feed(60_001_000, 41);
  assert.equal(b.last(), 5041);
  assert.match(r.notices[0]!, /restarted while Node-RED was down/);
});

test('a first total a 0x00→0xFF flip could have made waits for the next one; a flipped one never counts', () => {
  assert.equal(mayBeFlippedUp(1234.75), false);
  assert.equal(mayBeFlippedUp(255), true);
  assert.equal(mayBeFlippedUp(0x1ff00 + 0.5), true);
  assert.equal(mayBeFlippedUp(12 + 0xff00 / 65536), true);
  assert.equal(mayBeFlippedUp(12.255), true, 'thousandths 255');
  const { feed, last } = rig(CLAMP);
  // the board's total is 1000.25 Wh; the first report arrives with its top byte flipped
  feed(0, 1000.25 + 0xff000000);
  assert.equal(last(), 0);
  feed(1000, 1000.5);
  feed(2000, 1001.5);
  assert.equal(last(), 1001);
});

test('a jump above the limit is rejected with a reason naming the sensor; the next good total counts as if it never came', () => {
  const { feed, last, c } = rig(CLAMP);
  feed(0, 1000);
  feed(1000, 1001);
  const r = feed(2000, 1002 + 65280);
  assert.equal(last(), 1001);
  assert.match(
    r.errors[0]!,
    /sensor "main" \(port 1\): total 66282 jumped by 65281 in 1 s, more than 23 kW \(50 A × 230 V × 2\) can count: not counted/,
  );
  feed(3000, 1003);
  assert.equal(last(), 1003);
  assert.equal(c.guardStats.jumps, 1);
});

test('a pulse total that is not a whole number of pulses is rejected', () => {
  const { feed, last } = rig([{ n: 1, id: sid(1), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 10 }]);
  feed(0, 100);
  const r = feed(1000, 110.255);
  assert.match(r.errors[0]!, /not a whole number of 10-unit pulses/);
  feed(2000, 120);
  assert.equal(last(), 120);
});

test('a glitch: a total a little too high passes, the next lower one is waited out, reported once, and the counter ends exact', () => {
  const { feed, last, c } = rig(CLAMP);
  feed(0, 1000);
  feed(1000, 1001 + 0xff00 / 65536); // 0.996 Wh too much: no way to tell yet
  assert.equal(last(), 1001);
  const r1 = feed(2000, 1001.5);
  const r2 = feed(3000, 1001.8);
  assert.match(
    r1.errors[0]!,
    /went down from 1001\.996 to 1001\.5.*counting resumes once the board's total passes 1001\.996/,
  );
  assert.deepEqual(r2.errors, [], 'reported once');
  feed(4000, 1002.5);
  assert.equal(last(), 1002);
  feed(5000, 1003);
  assert.equal(last(), 1003);
  assert.equal(c.guardStats.glitches, 2);
});

test('a corrupted "restart" (a 0xFF byte turned 0x00) is taken back when the next total carries on from the old one', () => {
  const { feed, last, c } = rig(CLAMP);
  feed(0, 0xff03); // a first total with a 0xFF byte: waits for the next
  feed(1000, 0xff04);
  assert.equal(last(), 0xff04);
  feed(2000, 0x0005); // 0xff05 with its second byte flipped: looks like a restart, 5 Wh counted
  assert.equal(last(), 0xff04 + 5);
  const r = feed(3000, 0xff06);
  assert.match(r.notices[0]!, /was not a restart/);
  assert.equal(last(), 0xff04 + 5, 'paid back before counting on');
  feed(30_000, 0xff0a);
  assert.equal(last(), 0xff0a, 'exact once the board passed it');
  assert.equal(c.guardStats.falseRestarts, 1);
});

test('a board replaced by another: its totals are followed once two agree, counted from where the new run began', () => {
  for (const newTotal of [900_000, 20_000]) {
    const { feed, last, c } = rig(CLAMP);
    feed(0, 50_000);
    feed(1000, 50_001);
    // the link is down for ten minutes while the board is swapped
    const r = feed(601_000, newTotal);
    assert.equal(r.errors.length, 1, r.errors.join());
    feed(602_000, newTotal + 1);
    const n = feed(603_000, newTotal + 2);
    assert.equal(last(), 50_003, `new board at ${newTotal}`);
    assert.equal(c.guardStats.newRuns, 1);
    assert.equal(n.notices.length, 0);
  }
});
