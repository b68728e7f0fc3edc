import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectionHandlers } from '../../../core/link/reconnecting';
import { ManualClock } from '../../support/clock';
import type { StatusView } from '../../../core/util/status-view';
import { P1Reader, type P1Out } from '../../../core/source/p1-reader';
import { fixture } from '../p1/fixtures';
import { BoardReader } from '../../../core/source/board-reader';
import { BoardEmulator } from '../../../core/flx/emulator';
import { device, sid } from '../../support/device';

const flush = () => new Promise((r) => setImmediate(r));

/** A transport under the test's control: each attempt fails with `failWith`, or opens. */
function transport(failures: number, failWith = 'ENOENT') {
  const open: ConnectionHandlers[] = [];
  let attempts = 0;
  const connect = async (handlers: ConnectionHandlers) => {
    if (++attempts <= failures) throw Object.assign(new Error('no such device'), { code: failWith });
    open.push(handlers);
    return { label: `fake#${attempts}`, close: async () => undefined };
  };
  return { connect, open, attempts: () => attempts };
}

function p1Reader(failures: number, watchdogMs = 30_000) {
  const clock = new ManualClock(1_700_000_000_000);
  const t = transport(failures);
  const sent: P1Out[] = [];
  const logs: Array<[string, string]> = [];
  const statuses: StatusView[] = [];
  const reader = new P1Reader({
    stream: {},
    connect: t.connect,
    label: '/dev/ttyFAKE',
    watchdogMs,
    clock,
    send: (o) => sent.push(o),
    reject: (text) => logs.push(['error', text]),
    log: (level, text) => logs.push([level, text]),
    // the English line and its colour; the phrases are for translation
    status: (v) => statuses.push({ level: v.level, text: v.text }),
    unexpected: (err) => assert.fail(String(err)),
  });
  return { clock, t, sent, logs, statuses, reader, last: () => statuses.at(-1) };
}

test('P1 reader: connecting, a telegram (online, counted), then silence (offline once, reconnecting) under a manual clock', async () => {
  const r = p1Reader(0);
  r.reader.start();
  await flush();
  assert.deepEqual(r.last(), { level: 'idle', text: 'connected · waiting' });
  assert.deepEqual(r.logs, [['log', 'reading P1 from fake#1']]);
  r.t.open[0]!.data(Buffer.from(fixture('dsmr5-be-fluvius.txt'), 'latin1'));
  assert.deepEqual(
    r.sent.map((m) => [m.topic, typeof m.payload === 'string' ? m.payload : 'telegram']),
    [
      ['p1/availability', 'online'],
      ['p1/telegram', 'telegram'],
    ],
  );
  assert.deepEqual(r.last(), { level: 'ok', text: '1 ok' });
  r.clock.advance(30_000);
  await flush();
  assert.equal(r.sent.at(-1)?.payload, 'offline');
  assert.match(r.last()!.text, /^no data for 30 s/);
  assert.equal(r.last()!.level, 'warn');
  // The silent connection is dropped and opened again; the watchdog says why.
  assert.deepEqual(
    r.logs
      .filter(([l]) => l === 'warn')
      .map(([, t]) => t.replace(/\d+ s$/, 'N s'))
      .sort(),
    ['/dev/ttyFAKE: no data for 30 s; retrying in N s', 'no telegram for 30 s from /dev/ttyFAKE; reconnecting'],
  );
  r.clock.advance(30_000);
  await flush();
  assert.equal(r.sent.filter((m) => m.payload === 'offline').length, 1, 'offline is said once per silence');
  await r.reader.stop();
});

test('P1 reader: a port that cannot open says so in the status and once a minute in the log, and is retried', async () => {
  const r = p1Reader(100, 0);
  r.reader.start();
  await flush();
  assert.match(r.last()!.text, /^ENOENT · retry in \d+ s$/);
  for (let i = 0; i < 20; i++) {
    r.clock.advance(5_000);
    await flush();
  }
  assert.ok(r.t.attempts() >= 5, `retried (${r.t.attempts()} attempts)`);
  const warnings = r.logs.filter(([l]) => l === 'warn');
  assert.ok(
    warnings.length >= 1 && warnings.length <= 3,
    `rate-limited: ${warnings.length} lines for ${r.t.attempts()} failures`,
  );
  assert.match(warnings[0]![1], /^\/dev\/ttyFAKE: cannot connect: no such device; retrying in \d+ s$/);
  await r.reader.stop();
});

test("P1 reader (messages): a bad telegram is the message's error and turns the counts red", () => {
  const sent: P1Out[] = [];
  const statuses: StatusView[] = [];
  const reader = new P1Reader({
    stream: {},
    label: 'msg.payload',
    watchdogMs: 0,
    clock: new ManualClock(),
    send: (o) => sent.push(o),
    reject: () => assert.fail('messages are refused through their own error'),
    log: () => undefined,
    // the English line and its colour; the phrases are for translation
    status: (v) => statuses.push({ level: v.level, text: v.text }),
    unexpected: (err) => assert.fail(String(err)),
  });
  reader.start();
  assert.deepEqual(statuses.at(-1), { level: 'idle', text: 'waiting for telegrams' });
  const good = fixture('dsmr5-be-fluvius.txt');
  const emitted: P1Out[] = [];
  assert.equal(
    reader.message(good, (o) => emitted.push(o)),
    undefined,
  );
  assert.equal(emitted[0]?.topic, 'p1/telegram');
  const bad = good.replace(/!([0-9A-F]{4})/, (_m, crc: string) => `!${crc === '0000' ? '0001' : '0000'}`);
  const failure = reader.message(bad, () => assert.fail('a bad telegram does not leave'));
  assert.match(failure?.message ?? '', /CRC/);
  assert.deepEqual(statuses.at(-1), { level: 'error', text: '1 ok · 1 crc' });
});

test('board reader: an emulated FLM03 board is configured, its seconds leave as board batches, silence makes it offline', async () => {
  const start = Date.UTC(2026, 5, 21, 12, 0, 0);
  const clock = new ManualClock(start);
  const emulator = new BoardEmulator({ start, clamps: [{ port: 1, watts: 1000 }], pulses: [{ port: 4, rate: 2 }] });
  let host: ConnectionHandlers | undefined;
  const sent: Array<[string, unknown]> = [];
  const statuses: StatusView[] = [];
  const logs: string[] = [];
  const toHost = (frames: Uint8Array[]) => frames.length && host!.data(Buffer.concat(frames));
  const reader = new BoardReader({
    protocol: 'flm03',
    device: device([
      { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 },
      { n: 2, id: sid(2), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
    ]),
    connect: async (handlers) => {
      host = handlers;
      return {
        label: 'fake-board',
        close: async () => undefined,
        write: async (bytes) => void toHost(emulator.input(bytes)),
      };
    },
    label: '/dev/ttyBOARD',
    watchdogMs: 15_000,
    clock,
    send: (topic, payload) => sent.push([topic, payload]),
    log: (level, text) => logs.push(`${level}: ${text}`),
    // the English line and its colour; the phrases are for translation
    status: (v) => statuses.push({ level: v.level, text: v.text }),
    unexpected: (err) => assert.fail(String(err)),
  });
  reader.start();
  await flush();
  assert.deepEqual(statuses[0], { level: 'idle', text: 'connecting' });
  toHost([emulator.pingFrame()]);
  await flush();
  assert.equal(emulator.configured, true, 'the reader wrote the port config');
  for (let s = 0; s < 5; s++) {
    clock.advance(1000);
    toHost(emulator.advance(1000));
    await flush();
  }
  clock.advance(1000);
  await flush();
  const batches = sent.filter(([t]) => t === 'board/batch');
  assert.ok(batches.length >= 4, `${batches.length} batches`);
  assert.deepEqual(
    sent.filter(([t]) => t === 'board/availability').map(([, p]) => p),
    ['online'],
  );
  assert.equal(statuses.at(-1)!.level, 'ok');
  clock.advance(15_000);
  await flush();
  assert.deepEqual(
    sent.filter(([t]) => t === 'board/availability').map(([, p]) => p),
    ['online', 'offline'],
  );
  assert.match(statuses.at(-1)!.text, /^no data for 1\d s/);
  assert.ok(
    logs.some((l) => l === 'warn: no frame for 15 s from /dev/ttyBOARD; reconnecting'),
    logs.join('\n'),
  );
  await reader.stop();
});
