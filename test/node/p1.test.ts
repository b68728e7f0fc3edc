import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { helper, flmNodes, onTab, waitFor, collect } from '../support/nodered';
import { fixture, fixtureBytes, telegramOf, VALID_CRC, NO_CRC } from '../unit/p1/fixtures';
import { callsOf, lastStatusOf as lastStatus } from '../support/node-calls';

afterEach(async () => {
  await helper.unload();
});

const SMARTY_KEY = 'D491470F47126332B07D1923B3504188';
const nodes = flmNodes;

const p1Flow = (extra: Record<string, unknown> = {}) =>
  onTab([
    {
      id: 'p1',
      type: 'flm-p1',
      source: 'input',
      crc: 'strict',
      variant: 'arc',
      watchdog: '30',
      wires: [['out']],
      ...extra,
    },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);

test('flm-p1 (input): every fixture telegram leaves as p1/telegram with the parsed payload, check and raw text', async () => {
  await helper.load(nodes, p1Flow());
  const out = collect('out');
  const p1 = helper.getNode('p1');
  const names = [...VALID_CRC, ...NO_CRC];
  for (const name of names) {
    p1.receive({ topic: '/p1/abc/telegram', payload: fixture(name), upstream: name });
    await waitFor(`${name} out`, () => out.filter((m) => m.topic === 'p1/telegram').length === names.indexOf(name) + 1);
  }
  assert.deepEqual(out[0], { _msgid: out[0]._msgid, topic: 'p1/availability', payload: 'online' });
  const telegrams = out.filter((m) => m.topic === 'p1/telegram');
  assert.deepEqual(
    telegrams.map((m) => m.upstream),
    names,
    'the incoming message is reused',
  );
  assert.deepEqual(
    telegrams.map((m) => m.p1.raw),
    names.map((n) => telegramOf(fixture(n))),
  );
  assert.deepEqual(
    telegrams.map((m) => m.p1.check.status),
    names.map((n) => (NO_CRC.includes(n) ? 'no-crc' : 'valid')),
  );
  // Values read by hand from the fixtures.
  const nl = telegrams[VALID_CRC.indexOf('dsmr5-nl.txt')].payload;
  assert.equal(nl.equipmentId, 'K8EG004046395507');
  assert.deepEqual(nl.electricity.delivered.tariff2, { value: 2.399, unit: 'kWh' });
  assert.deepEqual(nl.mbus[0].reading, {
    obis: '24.2.1',
    capturedAt: { unix: Date.parse('2017-01-02T15:10:05Z') / 1000, iso: '2017-01-02T15:10:05Z', dst: false },
    value: 0.107,
    unit: 'm³',
  });
  const be = telegrams[VALID_CRC.indexOf('dsmr5-be-fluvius.txt')].payload;
  assert.ok(be.capacity.monthPeak, 'Belgian capacity tariff');
  const dsmr22 = telegrams[VALID_CRC.length + NO_CRC.indexOf('dsmr22-nl.txt')].payload;
  assert.deepEqual(dsmr22.electricity.power.delivered, { value: 1.01, unit: 'kW' });
  assert.equal(out.filter((m) => m.topic === 'p1/availability').length, 1);
  await waitFor(
    'status with the count',
    () => lastStatus(p1).text === `${names.length} ok` && lastStatus(p1).fill === 'green',
  );
  assert.equal(collect('caught').length, 0);
  assert.equal(callsOf(p1, 'error').length, 0);
});

test('flm-p1 (input): a bad CRC is an error at Catch naming both CRCs, counted in the status, rate-limited', async () => {
  await helper.load(nodes, p1Flow());
  const out = collect('out');
  const caught = collect('caught');
  const p1 = helper.getNode('p1');
  p1.receive({ payload: fixture('dsmr5-nl.txt') });
  p1.receive({ payload: fixture('be-emucs-2.1.1-spec-example.txt'), mark: 'bad' });
  const c = await waitFor('the error at Catch', () => caught[0]);
  assert.match(c.error.message, /telegram rejected: bad CRC: expected 1234 \(carried by the telegram\), computed 74E0/);
  assert.equal(c.mark, 'bad', 'Catch gets the incoming message');
  await waitFor(
    'red status with counters',
    () => lastStatus(p1).text === '1 ok · 1 crc' && lastStatus(p1).fill === 'red',
  );
  // More of the same within the minute: counted, not reported again.
  for (let i = 0; i < 5; i++) p1.receive({ payload: fixture('be-emucs-2.1.1-spec-example.txt') });
  p1.receive({ payload: fixture('dsmr5-be-fluvius.txt') });
  await waitFor(
    'green again after a good telegram',
    () => lastStatus(p1).text === '2 ok · 6 crc' && lastStatus(p1).fill === 'green',
  );
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(caught.length, 1);
  assert.equal(out.filter((m) => m.topic === 'p1/telegram').length, 2);
  // Unreadable input is its own kind: reported at once.
  p1.receive({ payload: 'hello, no telegram here' });
  p1.receive({ payload: { not: 'text' } });
  await waitFor('two more errors', () => caught.length === 3);
  assert.match(caught[1].error.message, /no telegram in the message/);
  assert.match(caught[2].error.message, /msg\.payload must be telegram text or a Buffer, not object/);
  await waitFor('status counts the unreadable one', () => lastStatus(p1).text === '2 ok · 6 crc · 1 bad');
});

test('flm-p1: CRC warn passes a bad telegram on with a warning; x25/auto variants are accepted settings', async () => {
  await helper.load(nodes, p1Flow({ crc: 'warn', variant: 'auto' }));
  const out = collect('out');
  const p1 = helper.getNode('p1');
  p1.receive({ payload: fixture('smarty-lu-spec-example.txt') });
  const m = await waitFor('telegram out', () => out.find((x) => x.topic === 'p1/telegram'));
  assert.equal(m.p1.check.status, 'mismatch');
  await waitFor('a warning', () => callsOf(p1, 'warn').some(([w]) => /CRC mode warn.*expected 8B52/.test(w)));
  await waitFor('status', () => lastStatus(p1).text === '1 ok · 1 crc');
});

test('flm-p1: a Smarty frame decodes with the key (a credential), also named as ${ENV}', async () => {
  process.env.FLM_TEST_P1_KEY = SMARTY_KEY;
  try {
    for (const key of [SMARTY_KEY, '${FLM_TEST_P1_KEY}']) {
      await helper.load(nodes, p1Flow({ crc: 'warn' }), { p1: { key } });
      const out = collect('out');
      const p1 = helper.getNode('p1');
      p1.receive({ payload: fixtureBytes('smarty-lu-encrypted.bin') });
      const m = await waitFor('decoded telegram', () => out.find((x) => x.topic === 'p1/telegram'));
      assert.equal(m.payload.logicalDeviceName, 'SAG1030700114004SAG1030700114004SAG1030700114004');
      assert.deepEqual(m.payload.electricity.returned.total, { value: 0.025, unit: 'kWh' });
      assert.match(m.p1.raw, /^\/Lux5\\253663629_D\r\n/);
      await helper.unload();
    }
  } finally {
    delete process.env.FLM_TEST_P1_KEY;
  }
});

test('flm-p1: a wrong Smarty key gives "decryption failed: check the key" at Catch', async () => {
  await helper.load(nodes, p1Flow(), { p1: { key: SMARTY_KEY.replace(/^D4/, 'D5') } });
  const caught = collect('caught');
  const p1 = helper.getNode('p1');
  p1.receive({ payload: fixtureBytes('smarty-lu-encrypted.bin') });
  const c = await waitFor('error at Catch', () => caught[0]);
  assert.match(c.error.message, /decryption failed: check the key/);
  await waitFor('status', () => lastStatus(p1).text === '0 ok · 1 key' && lastStatus(p1).fill === 'red');
});

test('flm-p1: the watchdog sends offline after the silence, turns the status yellow, and online comes back with data', async () => {
  await helper.load(nodes, p1Flow({ watchdog: '0.6' }));
  const out = collect('out');
  const p1 = helper.getNode('p1');
  p1.receive({ payload: fixture('dsmr5-nl.txt') });
  await waitFor('online', () => out.find((m) => m.payload === 'online'));
  const offline = await waitFor(
    'offline',
    () => out.find((m) => m.topic === 'p1/availability' && m.payload === 'offline'),
    3000,
  );
  assert.ok(offline);
  await waitFor(
    'yellow status',
    () => lastStatus(p1).fill === 'yellow' && /^no data for \d+ s$/.test(lastStatus(p1).text),
  );
  assert.ok(callsOf(p1, 'warn').some(([w]) => /no telegram for 1 s from msg\.payload/.test(w)));
  p1.receive({ payload: fixture('dsmr5-nl.txt') });
  await waitFor('online again', () => out.filter((m) => m.payload === 'online').length === 2);
  await waitFor('green', () => lastStatus(p1).fill === 'green');
  assert.deepEqual(
    out.filter((m) => m.topic === 'p1/availability').map((m) => m.payload),
    ['online', 'offline', 'online'],
  );
});

test('flm-p1: bad settings give a red status and fail input messages; serial/tcp sources refuse input messages', async () => {
  await helper.load(
    nodes,
    onTab([
      { id: 'a', type: 'flm-p1', source: 'tcp', tcp: 'p1-dongle', wires: [[]] },
      { id: 'b', type: 'flm-p1', source: 'serial', port: '${FLM_TEST_P1_NO_SUCH_VAR}', wires: [[]] },
      { id: 'c', type: 'flm-p1', source: 'input', watchdog: 'soon', wires: [[]] },
      { id: 'd', type: 'flm-p1', source: 'tcp', tcp: '127.0.0.1:1', watchdog: '0', wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]),
  );
  const caught = collect('caught');
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => helper.getNode(id));
  assert.match(callsOf(a, 'error')[0]![0], /"p1-dongle" is not host:port/);
  assert.match(callsOf(b, 'error')[0]![0], /serial port: no path set/);
  assert.match(callsOf(c, 'error')[0]![0], /watchdog: "soon" is not a valid value/);
  for (const n of [a, b, c]) assert.equal(lastStatus(n).fill, 'red');
  a.receive({ payload: 'x' });
  d.receive({ payload: 'x' });
  await waitFor('two errors at Catch', () => caught.length === 2);
  assert.match(caught.find((m) => m.error.source.id === 'a').error.message, /not host:port/);
  assert.match(
    caught.find((m) => m.error.source.id === 'd').error.message,
    /reads P1 from 127\.0\.0\.1:1; set its source to "input"/,
  );
  // Nothing listens on port 1: the status says so and a retry is planned.
  await waitFor('connect error in the status', () => /^ECONNREFUSED · retry in \d+ s$/.test(lastStatus(d).text ?? ''));
  assert.equal(lastStatus(d).fill, 'yellow');
});

test('flm-p1: GET /flm/serialports answers a list, [] where the system cannot list ports', async () => {
  await helper.load(nodes, p1Flow());
  const res = await helper.request().get('/flm/serialports').expect(200);
  assert.ok(Array.isArray(res.body));
  for (const p of res.body) assert.equal(typeof p, 'string');
  // serialport lists ports through udevadm; without it (containers, CI) the list is empty, not an error.
  if (!['/usr/bin/udevadm', '/bin/udevadm', '/sbin/udevadm'].some((f) => existsSync(f))) assert.deepEqual(res.body, []);
});

test('flm-p1: close is quick for every source, also with a connection attempt under way', async () => {
  await helper.load(
    nodes,
    onTab([
      { id: 'i', type: 'flm-p1', source: 'input', wires: [[]] },
      { id: 't', type: 'flm-p1', source: 'tcp', tcp: '127.0.0.1:1', wires: [[]] },
      { id: 's', type: 'flm-p1', source: 'serial', port: '/dev/flm-p1-no-such-port', serial: 'auto', wires: [[]] },
    ]),
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.match(lastStatus(helper.getNode('s')).text, /^ENOENT · retry in \d+ s$/);
  const t0 = Date.now();
  await helper.unload();
  assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
});
