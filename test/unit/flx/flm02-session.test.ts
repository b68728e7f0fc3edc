/**
 * The FLM02 host session against replies written by hand from
 * docs/protocols/sensor-board.md#flm02-commands and #flm02-sync, with CRCs from a bit-by-bit
 * CRC-8 Dallas here (checked against the check values in docs/protocols/sensor-board.md#crc-8):
 * fsync's sequence and its retries, gd polls to batches, bad CRCs, split and unfinished reads,
 * the AVR's ms wrap and a reset that loses counts, Kube packets on `u`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flm02Session, type Flm02SessionOptions } from '../../../core/flx/flm02-session';
import { flm02SyncPlan } from '../../../core/flx/flm02-sync';
import { Flm02DeltaDecoder } from '../../../core/flx/flm02-delta';
import type { LinkOutput } from '../../../core/flx/board-link';
import { boardBatchSchema } from '../../../core/mqtt/board-batch';
import { encodeKubePacket } from '../../../core/flx/kube';
import { device, sid } from '../../support/device';
import { crc8 } from './support';
import { phrasedView } from '../../../core/util/status-view';

/** One whole board read: control reply, radio hex, and the 0x00 that ends it. */
const read = (body: string, uHex = ''): Buffer => Buffer.from(`l${body}${crc8(body)}.u${uHex}\0`, 'latin1');
const sent = (out: LinkOutput): string[] => out.writes.map((w) => Buffer.from(w).toString('latin1'));
const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const rec = (sensor: number, counter: number, milli: number, extra: number) =>
  hex(sensor, 2) + hex(counter, 8) + hex(milli, 4) + hex(extra, 8);

const SENSORS = device([
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 50 },
  { n: 4, id: sid(4), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1.001 },
  { n: 5, id: sid(5), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 2.5 },
]).sensors;
const T = Date.UTC(2026, 0, 1);

/** A session past its sync: every set echoed, gh 2.2; returns it and the first poll's text. */
function synced(options: Partial<Flm02SessionOptions> = {}): { s: Flm02Session; poll: string[] } {
  const s = new Flm02Session({ sensors: SENSORS, ...options });
  let out = s.connected(T);
  for (let i = 0; i < 40; i++) {
    const [req] = sent(out);
    assert.ok(req, 'a request goes out after each reply');
    if (req === 'lgd30.') return { s, poll: sent(out) };
    const body = req.slice(1, -3);
    out = s.push(read(body === 'gh' ? 'gh000202' : body), T);
  }
  throw new Error('the sync never ended');
}

test('the documented check values: gd, gh, ct', () => {
  assert.equal(crc8('gd'), '30');
  assert.equal(crc8('gh'), '93');
  assert.equal(crc8('ct'), '96');
});

test("on connect: fsync's sequence, each set echoed, then the first gd poll", () => {
  const s = new Flm02Session({ sensors: SENSORS, kubeGroup: 212 });
  let out = s.connected(T);
  assert.deepEqual(out.events, [{ type: 'configured', reason: 'connect' }]);
  const requests: string[] = [];
  let notes: string[] = [];
  for (;;) {
    const [req, ...more] = sent(out);
    assert.deepEqual(more, [], 'one request at a time');
    requests.push(req!);
    if (req === 'lgd30.') break;
    assert.match(req!, /^l[a-z]{2}[0-9a-f]*\.$/);
    const body = req!.slice(1, -3);
    assert.equal(req!.slice(-3, -1), crc8(body), `the CRC of ${req}`);
    out = s.push(read(body === 'gh' ? 'gh000202' : body), T);
    notes = notes.concat(out.events.filter((e) => e.type === 'note').map((e) => (e as { text: string }).text));
  }
  const bodies = requests.map((r) => r.slice(1, -3));
  assert.deepEqual(bodies, [
    'gh',
    'se0000',
    'se0100',
    'se0200',
    'se0300',
    'se0400',
    'se0500',
    // port 1 → sensor 0, port 4 → sensor 3, port 5 → sensor 4
    'sp' + '00ffff0304ff',
    // 0.449 × 230 V × 50 A = 5163.5 → 5163; 1.001 → 1 + 1/1000 (not fsync's 1 + 0); 2.5 → 2 + 500/1000
    'sm00' + hex(5163, 4),
    'sf000000',
    'sm010000',
    'sf010000',
    'sm020000',
    'sf020000',
    'sm030001',
    'sf030001',
    'sm040002',
    'sf0401f4',
    'sm050000',
    'sf050000',
    'sgd4',
    'se0001',
    'se0301',
    'se0401',
    'ct',
    'gd',
  ]);
  assert.equal(requests.at(-2), 'lct96.');
  assert.deepEqual(notes, ['sensor table sent to the FLM02 board and committed (ct)']);
  assert.equal(s.syncing, false);
  assert.deepEqual(s.configProblems, []);
});

test('the sync plan names sensors an FLM02 board cannot serve, and never writes counters', () => {
  const plan = flm02SyncPlan(
    device([
      { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1, 2, 3] },
      { n: 2, id: sid(2), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
      { n: 4, id: sid(4), name: 'water', type: 'water', class: 'pulse', port: [7], constant: 1 },
      { n: 5, id: sid(5), name: 'heat', type: 'electricity', class: 'analog', port: [5] },
      { n: 9, id: sid(9), name: 'far', type: 'water', class: 'pulse', port: [6], constant: 1 },
    ]).sensors,
  );
  assert.equal(plan.problems.length, 4);
  assert.match(
    plan.problems.join('\n'),
    /"solar" is number 2[\s\S]*port 7 is not an FLM02 port[\s\S]*an analog sensor cannot be number 5[\s\S]*sensors 1-6/,
  );
  assert.deepEqual(
    plan.steps.find((x) => x.cmd === 'sp')!.args,
    [0, 0, 0, 0xff, 0xff, 0xff],
    'three phases on sensor 1',
  );
  assert.equal(
    plan.steps.some((x) => x.cmd === 'sc'),
    false,
  );
});

test('a set whose echo is damaged or refused is retried; one that never succeeds ends the sync with one clear warning, and polling starts', () => {
  const s = new Flm02Session({ sensors: SENSORS });
  let out = s.connected(T);
  out = s.push(read('gh000202'), T);
  // se 0 0: a bad CRC, then the board's zz (our request arrived damaged), then a wrong echo, then right
  assert.deepEqual(sent(out), ['lse0000' + crc8('se0000') + '.']);
  const badCrc = Buffer.from(`lse0000${crc8('se0000') === '00' ? '01' : '00'}.u\0`, 'latin1');
  out = s.push(badCrc, T);
  assert.deepEqual(sent(out), ['lse0000' + crc8('se0000') + '.'], 'retried after a bad CRC');
  out = s.push(read('zz'), T);
  assert.deepEqual(
    sent(out).map((r) => r.slice(1, 7)),
    ['se0000'],
    'retried after zz',
  );
  out = s.push(read('se0001'), T);
  assert.deepEqual(
    sent(out).map((r) => r.slice(1, 7)),
    ['se0000'],
    'retried after a wrong echo',
  );
  out = s.push(read('se0000'), T);
  assert.deepEqual(
    sent(out).map((r) => r.slice(1, 7)),
    ['se0100'],
    'on to the next step',
  );
  assert.deepEqual([s.stats.badCrc, s.stats.refused, s.stats.mismatched], [1, 1, 1]);

  // se 1 0 never gets an answer: five attempts, then the sync ends and gd polls go out
  let t = T;
  const warnings: string[] = [];
  let attempts = 1;
  for (let i = 0; i < 20 && !sent(out).includes('lgd30.'); i++) {
    t += 600;
    out = s.tick(t);
    warnings.push(...out.events.filter((e) => e.type === 'warning').map((e) => (e as { text: string }).text));
    if (sent(out)[0]?.startsWith('lse0100')) attempts++;
  }
  assert.equal(attempts, 5);
  assert.deepEqual(sent(out), ['lgd30.']);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /sensor table not sent to the FLM02 board: "se 1 0" failed: no reply within 500 ms \(5 attempts\); sent again when the board answers; 21 step\(s\) left out/,
  );
  assert.equal(s.stats.timeouts, 5);
  // the board answers a poll: the whole table goes again, from gh
  out = s.push(read('gd'), t + 10);
  assert.deepEqual(sent(out), ['lgh93.']);
  assert.match(
    (out.events.find((e) => e.type === 'note') as { text: string }).text,
    /answers now: sending it the sensor table/,
  );
  assert.equal(s.stats.syncs, 2);
});

test('a sync refused for another reason than silence is not tried again on every poll', () => {
  const s = new Flm02Session({ sensors: SENSORS, retries: 2 });
  s.connected(T);
  s.push(read('gh000202'), T);
  s.push(read('se0001'), T);
  let out = s.push(read('se0001'), T);
  assert.deepEqual(sent(out), ['lgd30.']);
  out = s.push(read('gd'), T + 10);
  assert.deepEqual(sent(out), []);
  assert.equal(s.stats.syncs, 1);
});

test('a board that is not hardware 2.x is not synced', () => {
  const s = new Flm02Session({ sensors: SENSORS });
  s.connected(T);
  const out = s.push(read('gh000300'), T);
  assert.deepEqual(sent(out), ['lgd30.']);
  assert.match((out.events[0] as { text: string }).text, /hardware version 3.0 is not an FLM02 board/);
});

test("gd: the board's totals as counter records, clamp power as a gauge, pulse times on the AVR clock", () => {
  const { s, poll } = synced();
  assert.deepEqual(poll, ['lgd30.']);
  let out = s.push(read('gd' + rec(0, 123456, 0, 742) + rec(3, 5012, 500, 86_400_123)), T + 20);
  assert.deepEqual(out.batches, [
    {
      time: T + 20,
      records: [
        { kind: 'gauge', port: 1, value: 742 },
        { kind: 'counter', port: 1, value: 123456 },
        { kind: 'counter', port: 4, value: 5012.5, time: T + 20 },
      ],
    },
  ]);
  boardBatchSchema.parse(out.batches[0]);
  assert.deepEqual(sent(out), [], 'the next poll waits for its second');
  out = s.tick(T + 999);
  assert.deepEqual(sent(out), []);
  out = s.tick(T + 1000);
  assert.deepEqual(sent(out), ['lgd30.']);
  // an empty delta (nothing changed): no batch; the next poll still comes
  out = s.push(read('gd'), T + 1010);
  assert.deepEqual(out.batches, []);
  assert.deepEqual(sent(s.tick(T + 2000)), ['lgd30.']);
  assert.equal(s.stats.polls, 3);
});

test('a reply with a bad CRC is dropped and counted, and the next poll works', () => {
  const { s } = synced();
  const good = read('gd' + rec(0, 10, 0, 500)).toString('latin1');
  const damaged = good.replace('0000000a', '0000000b');
  let out = s.push(Buffer.from(damaged, 'latin1'), T + 10);
  assert.deepEqual(out.batches, []);
  assert.equal(s.stats.badCrc, 1);
  assert.match((out.events[0] as { text: string }).text, /CRC .. does not match/);
  out = s.tick(T + 1000);
  assert.deepEqual(sent(out), ['lgd30.']);
  out = s.push(Buffer.from(good, 'latin1'), T + 1010);
  assert.deepEqual(out.batches[0]!.records, [
    { kind: 'gauge', port: 1, value: 500 },
    { kind: 'counter', port: 1, value: 10 },
  ]);
});

test('a reply split across chunks, byte by byte, is one reply; noise before it is dropped with it', () => {
  const { s } = synced();
  const bytes = read('gd' + rec(4, 7, 500, 1234));
  let batches = 0;
  for (const b of bytes) batches += s.push(Uint8Array.of(b), T + 5).batches.length;
  assert.equal(batches, 1);
  assert.equal(s.stats.frames > 0, true);
  // idle 0x00 bytes between reads mean nothing
  const before = s.stats;
  s.push(Uint8Array.of(0, 0, 0), T + 6);
  assert.deepEqual(s.stats, before);
});

test('a reply whose 0x00 never comes is abandoned at the timeout, counted, and the next poll goes out', () => {
  const { s } = synced();
  let out = s.push(Buffer.from(`lgd${crc8('gd')}.u`, 'latin1'), T + 10); // no 0x00
  assert.deepEqual(out.batches, []);
  out = s.tick(T + 499);
  assert.deepEqual(sent(out), []);
  out = s.tick(T + 500);
  assert.equal(s.stats.timeouts, 1);
  assert.deepEqual(sent(out), [], 'the poll keeps its cadence');
  out = s.tick(T + 1000);
  assert.deepEqual(sent(out), ['lgd30.']);
  // the half read was thrown away with its request: the next read stands alone
  out = s.push(read('gd' + rec(0, 11, 0, 400)), T + 1010);
  assert.equal(out.batches.length, 1);
  assert.equal(s.stats.malformed, 0);
});

test('the AVR ms clock wraps after 49.7 days: pulse times keep following the host clock', () => {
  const { s } = synced();
  const U32 = 2 ** 32;
  const times: number[] = [];
  let counter = 100;
  let t = T;
  for (const avr of [U32 - 2500, U32 - 1500, U32 - 500, 400, 1400, 2400]) {
    s.tick(t);
    counter += 1;
    const out = s.push(read('gd' + rec(3, counter, 1, avr)), t + 20);
    const r = out.batches[0]!.records[0]!;
    assert.ok(r.kind === 'counter' && r.time !== undefined);
    assert.ok(r.time <= t + 20, 'a pulse lies before the reply that reports it');
    times.push(r.time);
    t += 1000;
  }
  assert.ok(
    times.every((x, i) => i === 0 || x > times[i - 1]!),
    `pulse times rise through the wrap: ${times.map((x) => x - T)}`,
  );
  assert.deepEqual(
    times.slice(0, 3).map((x, i) => (i ? x - times[i - 1]! : 0)),
    [0, 1000, 1000],
    'AVR differences kept exactly before the wrap',
  );
});

test('a counter that goes back (AVR reset to its EEPROM copy) is held, written back with sc and committed, and counting goes on', () => {
  const { s } = synced();
  let out = s.push(read('gd' + rec(3, 1000, 500, 50_000)), T + 10);
  assert.deepEqual(
    out.batches[0]!.records.map((r) => (r as { value: number }).value),
    [1000.5],
  );
  s.tick(T + 1000);
  // reset: counter back to the last ct, milli lost, ms clock near 0
  out = s.push(read('gd' + rec(3, 990, 1, 300)), T + 1010);
  assert.deepEqual(out.batches, [], 'a lower total is not passed on');
  assert.match(
    (out.events.find((e) => e.type === 'warning') as { text: string }).text,
    /counter went back from 1000.5 to 990.001/,
  );
  assert.deepEqual(sent(out), [`lsc03${hex(1000, 8)}${crc8('sc03' + hex(1000, 8))}.`]);
  out = s.push(read('sc03' + hex(1000, 8)), T + 1020);
  assert.deepEqual(sent(out), ['lct96.']);
  out = s.push(read('ct'), T + 1030);
  assert.match((out.events[0] as { text: string }).text, /sensor 4's counter set back and committed/);
  assert.equal(s.stats.restores, 1);
  // below the last total seen: still held; past it: counted from there
  s.tick(T + 2000);
  assert.deepEqual(s.push(read('gd' + rec(3, 1000, 1, 900)), T + 2010).batches, []);
  s.tick(T + 3000);
  out = s.push(read('gd' + rec(3, 1001, 2, 1900)), T + 3010);
  assert.deepEqual(
    out.batches[0]!.records.map((r) => (r as { value: number }).value),
    [1001.002],
  );
});

test('u bytes are Kube packets: each becomes a kube event, a damaged one a kube-error', () => {
  const { s } = synced();
  const packet = encodeKubePacket(212, { ctl: false, dst: false, ack: true, nid: 3 }, Uint8Array.of(1, 2, 3, 4, 5, 6));
  const two = Buffer.concat([packet, packet]).toString('hex');
  let out = s.push(read('gd', two), T + 10);
  const kube = out.events.filter((e) => e.type === 'kube');
  assert.equal(kube.length, 2);
  assert.deepEqual((kube[0] as { packet: { header: { nid: number; ack: boolean } } }).packet.header.nid, 3);
  const bad = Buffer.from(packet);
  bad[4]! ^= 0xff;
  s.tick(T + 1000);
  out = s.push(read('gd', bad.toString('hex')), T + 1010);
  assert.deepEqual(
    out.events.map((e) => e.type),
    ['kube-error'],
  );
  assert.equal(s.stats.kubePackets, 2);
});

test('garbage instead of a read is counted as malformed; the session stays in step', () => {
  const { s } = synced();
  let out = s.push(Buffer.from('\x01\x02garbage\0', 'latin1'), T + 10);
  assert.equal(s.stats.malformed, 1);
  assert.match((out.events[0] as { text: string }).text, /is not a board read/);
  out = s.tick(T + 1000);
  assert.deepEqual(sent(out), ['lgd30.']);
  out = s.push(read('gd' + rec(0, 1, 0, 1)), T + 1010);
  assert.equal(out.batches.length, 1);
  const { frames, batches } = s.stats;
  // each part a key of flm-board's catalog with its count, and the English line it makes
  assert.deepEqual(
    s.summary().map((p) => [p.key, p.params]),
    [
      ['replies', { count: frames }],
      ['bad', { count: 1 }],
      ['batches', { count: batches }],
    ],
  );
  assert.equal(phrasedView('ok', s.summary()).text, `${frames} replies · 1 bad · ${batches} batches`);
});

test('an FLM02A (hardware 2.1) has RS-485 on u, not the Kube radio: its bytes are counted, not taken for packets', () => {
  const s = new Flm02Session({ sensors: SENSORS });
  let out = s.connected(T);
  for (let i = 0; i < 40 && sent(out)[0] !== 'lgd30.'; i++) {
    const body = sent(out)[0]!.slice(1, -3);
    out = s.push(read(body === 'gh' ? 'gh000201' : body), T);
  }
  out = s.push(read('gd', '0102030405'), T + 10);
  assert.deepEqual(
    out.events.map((e) => e.type),
    ['note'],
  );
  assert.deepEqual([s.stats.uartBytes, s.stats.kubePackets], [5, 0]);
});

test("the delta decoder's totals mode: a u32 wrap passes through, a fallback is reported once per lost whole unit", () => {
  const d = new Flm02DeltaDecoder({ sensors: SENSORS, output: 'totals' });
  const r = (counter: number, milli: number, extra: number) => ({ sensor: 3, counter, milli, extra });
  assert.deepEqual(d.toBatch([r(2 ** 32 - 1, 0, 100)], T).batch.records, [
    { kind: 'counter', port: 4, value: 2 ** 32 - 1, time: T },
  ]);
  // past the top: flm-sensor takes the small total as a restart from 0 and adds it
  assert.deepEqual(d.toBatch([r(2, 0, 1100)], T + 1000).batch.records, [
    { kind: 'counter', port: 4, value: 2, time: T + 1000 },
  ]);
  const back = d.toBatch([r(1, 0, 50)], T + 2000);
  assert.deepEqual([back.batch.records, back.fellBack], [[], [{ sensor: 3, restore: 2 }]]);
  const same = d.toBatch([r(2, 0, 60)], T + 3000);
  assert.deepEqual(
    [same.batch.records.length, same.fellBack],
    [1, undefined],
    'back at the last total: passed on (it grew by 0)',
  );
});
