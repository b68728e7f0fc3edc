import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ItemNames,
  defaultItemName,
  parseOverrides,
  stateText,
  OpenHabClient,
  StateCoalescer,
  ITEM_NAME,
  type PutOutcome,
  type CoalescerEvent,
} from '../../../core/sinks/openhab';
import { ManualClock } from '../../support/clock';
import { OpenHabServer } from '../../support/openhab-server';
import { sid } from '../../support/device';

test('item names: flm_<sensor>_<quantity>, always a valid openHAB name; overrides by name or id', () => {
  assert.equal(defaultItemName('main', 'electricity', 'gauge'), 'flm_main_power');
  assert.equal(defaultItemName('main', 'electricity', 'counter'), 'flm_main_energy');
  assert.equal(defaultItemName('gas', 'gas', 'counter'), 'flm_gas_volume');
  assert.equal(defaultItemName('gas', 'gas', 'gauge'), 'flm_gas_flow');
  assert.equal(defaultItemName('Living room', 'temperature', 'gauge'), 'flm_living_room_temperature');
  assert.equal(defaultItemName('phase 1', 'electricity', 'counter', 'q1'), 'flm_phase_1_reactive_energy');
  assert.equal(defaultItemName('1st-floor.heat', 'heat', 'gauge'), 'flm_1st_floor_heat_power');
  assert.equal(defaultItemName('---', 'error', 'gauge'), 'flm_sensor_error');
  for (const n of ['main', 'Living room', '1st-floor.heat', 'ü', '123'])
    assert.match(defaultItemName(n, 'water', 'counter'), ITEM_NAME);
  const names = new ItemNames(
    parseOverrides([
      { sensor: 'main', kind: 'gauge', item: 'Home_Power' },
      { sensor: sid(2), kind: 'counter', item: 'Solar_Yield' },
      { sensor: 'main', kind: 'counter', item: '-' },
    ]),
  );
  assert.equal(names.item({ sid: sid(1), kind: 'gauge', name: 'main', type: 'electricity' }), 'Home_Power');
  assert.equal(
    names.item({ sid: sid(1), kind: 'counter', name: 'main', type: 'electricity' }),
    undefined,
    '"-": nothing sent',
  );
  assert.equal(names.item({ sid: sid(2), kind: 'counter', name: 'solar', type: 'electricity' }), 'Solar_Yield');
  assert.equal(names.item({ sid: sid(2), kind: 'gauge', name: 'solar', type: 'electricity' }), 'flm_solar_power');
  assert.throws(() => names.item({ sid: sid(9), kind: 'gauge' }), /has no name .* item table/);
  assert.throws(() => parseOverrides([{ sensor: 'main', kind: 'gauge', item: '1abc' }]), /not an openHAB item name/);
  assert.throws(() => parseOverrides([{ sensor: 'main', kind: 'gauge', item: 'a-b' }]), /not an openHAB item name/);
  assert.throws(
    () =>
      parseOverrides([
        { sensor: 'main', kind: 'gauge', item: 'A' },
        { sensor: 'main', kind: 'gauge', item: 'B' },
      ]),
    /mapped twice/,
  );
  assert.throws(() => parseOverrides([{ sensor: 'main', kind: 'power', item: 'A' }]), /item table: 0.kind/);
  assert.deepEqual(parseOverrides(undefined), []);
});

test('state text: with openHAB units or plain', () => {
  assert.equal(stateText(157, 'W', 'units'), '157 W');
  assert.equal(stateText(1234.5, 'Wh', 'units'), '1234.5 Wh');
  assert.equal(stateText(0.1 + 0.2, 'Wh', 'units'), '0.3 Wh');
  assert.equal(stateText(56, 'L', 'units'), '56 l');
  assert.equal(stateText(1440, 'L/day', 'units'), '1 l/min');
  assert.equal(stateText(21.5, '°C', 'units'), '21.5 °C');
  assert.equal(stateText(0.97, '', 'units'), '0.97');
  assert.equal(stateText(1440, 'L/day', 'plain'), '1440');
  assert.throws(() => stateText(NaN, 'W', 'units'), /finite/);
});

/** A put whose replies the test gives, one by one. */
function scripted() {
  const calls: Array<{ item: string; state: string; reply: (o: PutOutcome) => void; signal: AbortSignal }> = [];
  const put = (item: string, state: string, signal: AbortSignal) =>
    new Promise<PutOutcome>((resolve) => calls.push({ item, state, reply: resolve, signal }));
  const tick = () => new Promise((r) => setImmediate(r));
  return { calls, put, tick };
}

test('coalescer: one request per item under way, the newest value wins, bounded concurrency', async () => {
  const { calls, put, tick } = scripted();
  const events: CoalescerEvent[] = [];
  const c = new StateCoalescer({ put, clock: new ManualClock(0), maxInFlight: 2, onEvent: (e) => events.push(e) });
  c.offer('a', '1');
  for (let i = 2; i <= 50; i++) c.offer('a', String(i));
  c.offer('b', 'x');
  c.offer('c', 'y');
  assert.deepEqual(
    calls.map((x) => [x.item, x.state]),
    [
      ['a', '1'],
      ['b', 'x'],
    ],
    'c waits: two under way at most',
  );
  assert.equal(c.stats.superseded, 48);
  calls[0]!.reply({ kind: 'ok', status: 202 });
  await tick();
  assert.deepEqual(
    calls.slice(2).map((x) => [x.item, x.state]),
    [['a', '50']],
    'a gets its newest value, before c (it was pending first)',
  );
  calls[1]!.reply({ kind: 'ok', status: 202 });
  await tick();
  assert.deepEqual(
    calls.slice(3).map((x) => [x.item, x.state]),
    [['c', 'y']],
  );
  calls[2]!.reply({ kind: 'ok', status: 202 });
  calls[3]!.reply({ kind: 'ok', status: 202 });
  await c.settled();
  assert.equal(c.stats.sent, 4);
  assert.deepEqual(
    events.filter((e) => e.kind === 'sent').map((e) => (e as { state: string }).state),
    ['1', 'x', '50', 'y'],
  );
});

test('coalescer: network errors pause every item with a growing, capped, jittered delay; the newest value goes when back', async () => {
  const { calls, put, tick } = scripted();
  const clock = new ManualClock(0);
  const events: CoalescerEvent[] = [];
  const c = new StateCoalescer({
    put,
    clock,
    backoff: { initialMs: 1000, maxMs: 8000, jitter: 0.5, random: () => 0 },
    onEvent: (e) => events.push(e),
  });
  c.offer('a', '1');
  c.offer('b', '1');
  calls[0]!.reply({ kind: 'retry', error: 'connect ECONNREFUSED' });
  calls[1]!.reply({ kind: 'retry', status: 503, error: 'HTTP 503' });
  await tick();
  assert.equal(c.stats.mode, 'backoff');
  const delays = () => events.filter((e) => e.kind === 'retrying').map((e) => (e as { delayMs: number }).delayMs);
  assert.deepEqual(delays(), [1000], 'one backoff for both failures');
  c.offer('a', '2'); // during the pause: coalesced, nothing sent
  assert.equal(calls.length, 2);
  // Each probe fails: 1 s, 2 s, 4 s, 8 s, 8 s (the cap).
  for (let i = 0; i < 4; i++) {
    clock.advance(delays().at(-1)!);
    assert.equal(calls.length, 3 + i, 'one probe, not every item');
    calls.at(-1)!.reply({ kind: 'retry', error: 'ECONNREFUSED' });
    await tick();
  }
  assert.deepEqual(delays(), [1000, 2000, 4000, 8000, 8000]);
  // Jitter takes up to half off each delay.
  const j = new StateCoalescer({
    put: async () => ({ kind: 'retry', error: 'x' }),
    clock: new ManualClock(0),
    backoff: { initialMs: 1000, jitter: 0.5, random: () => 0.999 },
    onEvent: (e) => events.push(e),
  });
  j.offer('z', '1');
  await tick();
  assert.equal(delays().at(-1), 500);
  j.close();
  // openHAB is back: the probe succeeds, then everything pending goes.
  clock.advance(8000);
  calls.at(-1)!.reply({ kind: 'ok', status: 202 });
  await tick();
  assert.equal(c.stats.mode, 'ok');
  assert.ok(events.some((e) => e.kind === 'recovered'));
  const last = calls.slice(-1)[0]!;
  assert.deepEqual([last.item, last.state], ['b', '1']);
  assert.deepEqual(
    calls
      .filter((x) => x.item === 'a')
      .map((x) => x.state)
      .at(-1),
    '2',
    'a went with its newest value',
  );
  c.close();
});

test('coalescer: 401 stops sending (one probe every few minutes); 404 reported once, not retried for a while; 400 once', async () => {
  const { calls, put, tick } = scripted();
  const clock = new ManualClock(0);
  const events: CoalescerEvent[] = [];
  const c = new StateCoalescer({
    put,
    clock,
    authRetryMs: 300_000,
    missingRecheckMs: 60_000,
    onEvent: (e) => events.push(e),
  });
  c.offer('a', '1');
  calls[0]!.reply({ kind: 'auth-failed', status: 401 });
  await tick();
  assert.equal(c.stats.mode, 'auth-failed');
  for (let i = 0; i < 100; i++) c.offer('a', String(i));
  c.offer('b', '1');
  clock.advance(299_000);
  assert.equal(calls.length, 1, 'no hammering');
  clock.advance(1000);
  assert.equal(calls.length, 2, 'one probe');
  calls[1]!.reply({ kind: 'auth-failed', status: 401 });
  await tick();
  assert.equal(events.filter((e) => e.kind === 'auth-failed').length, 1, 'reported once');
  clock.advance(300_000);
  calls[2]!.reply({ kind: 'ok', status: 202 });
  await tick();
  assert.equal(c.stats.mode, 'ok');
  for (const x of calls.slice(3)) x.reply({ kind: 'ok', status: 202 });
  await c.settled();

  const before = calls.length;
  c.offer('missing', '1');
  calls.at(-1)!.reply({ kind: 'not-found', status: 404 });
  await tick();
  for (let i = 0; i < 10; i++) c.offer('missing', String(i));
  assert.equal(calls.length, before + 1, 'not tried again at once');
  assert.deepEqual(c.stats.missing, ['missing']);
  assert.equal(c.stats.notFound, 11);
  clock.advance(60_000);
  c.offer('missing', 'later');
  assert.equal(calls.length, before + 2, 'tried again after a while');
  calls.at(-1)!.reply({ kind: 'not-found', status: 404 });
  await tick();
  assert.equal(events.filter((e) => e.kind === 'not-found').length, 1, 'reported once');

  c.offer('text', 'abc');
  calls.at(-1)!.reply({ kind: 'refused', status: 400, excerpt: 'State could not be parsed' });
  await tick();
  c.offer('text', 'def');
  calls.at(-1)!.reply({ kind: 'refused', status: 400, excerpt: 'State could not be parsed' });
  await tick();
  assert.equal(events.filter((e) => e.kind === 'refused').length, 1);
  assert.equal(c.stats.refused, 2);
  c.close();
  assert.equal(calls.at(-1)!.signal.aborted, false, 'nothing under way to abort');
  c.offer('a', 'after close');
  assert.equal(calls.at(-1)!.state, 'def');
});

test('coalescer: close aborts what is under way', async () => {
  const { calls, put } = scripted();
  const c = new StateCoalescer({ put, clock: new ManualClock(0) });
  c.offer('a', '1');
  c.close();
  assert.equal(calls[0]!.signal.aborted, true);
  await c.settled();
});

const server = new OpenHabServer({
  token: 'oh.test.secret',
  items: { flm_main_power: 'Number:Power', Text: 'String' },
});
after(() => server.close());

test('REST client against an HTTP server with openHAB semantics', async () => {
  await server.start();
  const ok = new OpenHabClient({ baseUrl: `${server.url}/rest/`, token: 'oh.test.secret', timeoutMs: 2000 });
  assert.equal(ok.stateUrl('flm_main_power').pathname, '/rest/items/flm_main_power/state');
  assert.deepEqual(await ok.putState('flm_main_power', '157 W'), { kind: 'ok', status: 202 });
  assert.deepEqual(server.records, [
    { item: 'flm_main_power', state: '157 W', contentType: 'text/plain; charset=utf-8' },
  ]);
  assert.deepEqual(await ok.putState('flm_nope', '1'), { kind: 'not-found', status: 404 });
  const refused = await ok.putState('flm_main_power', 'ON');
  assert.equal(refused.kind, 'refused');
  assert.match((refused as { excerpt: string }).excerpt, /could not be parsed/);
  server.failNext(503, 'reset');
  assert.deepEqual(await ok.putState('flm_main_power', '1 W'), { kind: 'retry', status: 503, error: 'HTTP 503' });
  const reset = await ok.putState('flm_main_power', '1 W');
  assert.equal(reset.kind, 'retry');
  const wrong = new OpenHabClient({ baseUrl: server.url, token: 'oh.test.wrong' });
  assert.deepEqual(await wrong.putState('flm_main_power', '1 W'), { kind: 'auth-failed', status: 401 });
  const none = new OpenHabClient({ baseUrl: server.url });
  assert.deepEqual(await none.putState('flm_main_power', '1 W'), { kind: 'auth-failed', status: 401 });
  server.hold();
  const slow = new OpenHabClient({ baseUrl: server.url, token: 'oh.test.secret', timeoutMs: 200 });
  assert.deepEqual(await slow.putState('flm_main_power', '2 W'), { kind: 'retry', error: 'timed out' });
  server.release();
  const down = new OpenHabClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 2000 });
  assert.equal((await down.putState('x', '1')).kind, 'retry');
  assert.throws(() => new OpenHabClient({ baseUrl: 'ftp://x' }), /must be http/);
  assert.throws(() => new OpenHabClient({ baseUrl: 'openhab:8080' }), /http/);
  for (const c of [ok, wrong, none, slow, down]) c.close();
});
