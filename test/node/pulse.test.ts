import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, flmNodes, onTab, waitFor, collect, statuses, withDataDir } from '../support/nodered';
import { DEVICE_ID, DEVICE_KEY, sid, T0 } from '../support/device';

afterEach(async () => {
  await helper.unload();
});

const S0 = [{ n: 1, id: sid(1), name: 'heat pump', type: 'electricity', class: 'pulse', port: [7], constant: 0.5 }];
const creds = { dev: { deviceKey: DEVICE_KEY } };

function flow(dataDir: string, pulse: Record<string, unknown> = {}) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: S0 },
    {
      id: 'pulse',
      type: 'flm-pulse',
      port: '7',
      trigger: 'falling',
      debounce: '20',
      tick: '0.3',
      wires: [['batches', 'sensor']],
      ...pulse,
    },
    { id: 'batches', type: 'helper' },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

/** A GPIO pin as rpi-gpio reports it: every change, levels 0/1, here with the event times. */
const pin = (level: unknown, timestamp?: number) => ({
  payload: level,
  ...(timestamp === undefined ? {} : { timestamp }),
});

test('flm-pulse: falling edges of a GPIO pin become pulse records with their ms times; a bouncing contact is debounced', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const batches = collect('batches');
    const out = collect('out');
    const p = helper.getNode('pulse');
    const st = statuses('pulse');
    // the state read at deploy: high, no pulse
    p.receive(pin(1, T0));
    // a pulse at T0+1000 that bounces for 6 ms, then a clean one 900 ms later
    p.receive(pin(0, T0 + 1000));
    p.receive(pin(1, T0 + 1002));
    p.receive(pin(0, T0 + 1006));
    p.receive(pin(1, T0 + 1040));
    p.receive(pin(0, T0 + 1900));
    p.receive(pin(1, T0 + 1940));
    await waitFor('two batches', () => batches.length === 2);
    assert.deepEqual(
      batches.map((m) => m.topic),
      ['board/batch', 'board/batch'],
    );
    assert.deepEqual(
      batches.map((m) => m.payload.records),
      [
        [{ kind: 'pulse', port: 7, pulses: 1, time: T0 + 1000 }],
        [{ kind: 'pulse', port: 7, pulses: 1, time: T0 + 1900 }],
      ],
    );
    // 0.5 Wh over 900 ms = 2000 W, and the counter in Wh
    const gauge = await waitFor('a gauge', () => out.find((m) => m.topic === `/sensor/${sid(1)}/gauge`));
    assert.deepEqual(gauge.payload.slice(1), [2000, 'W']);
    // at most one counter a second: the second half Wh goes out with the next batch (an idle tick) in a later second
    await waitFor(
      'the counter at 1 Wh',
      () => out.find((m) => m.topic === `/sensor/${sid(1)}/counter` && m.payload[1] === 1),
      5000,
    );
    await waitFor('the status', () =>
      st.find((s) => s.text === 'port 7 · 2 pulses · 1 debounced' && s.fill === 'green'),
    );
  });
});

test('flm-pulse: rising edges, and "every message" for webhooks; a sensor id instead of a port', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, { trigger: 'rising', debounce: '0' }), creds);
    const batches = collect('batches');
    const p = helper.getNode('pulse');
    for (const v of ['low', 'high', 'low', 'HIGH', true, false]) p.receive(pin(v));
    await waitFor('two rising edges', () => batches.length === 2);
  });
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, { trigger: 'message', port: '', sid: sid(1), debounce: '0' }), creds);
    const hooks = collect('batches');
    const out = collect('out');
    const q = helper.getNode('pulse');
    q.receive({ payload: { anything: 'at all' }, timestamp: T0 });
    q.receive({ payload: 'also this', timestamp: T0 + 500 });
    await waitFor('two pulses', () => hooks.length === 2);
    assert.deepEqual(hooks[1].payload.records, [{ kind: 'pulse', sid: sid(1), pulses: 1, time: T0 + 500 }]);
    await waitFor(
      'the counter at 1 Wh',
      () => out.find((m) => m.topic === `/sensor/${sid(1)}/counter` && m.payload[1] === 1),
      5000,
    );
  });
});

test('flm-pulse: while no pulse comes, a batch with 0 pulses every tick, and the gauge falls', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, { trigger: 'message', tick: '0.2', debounce: '0' }), creds);
    const batches = collect('batches');
    const out = collect('out');
    const p = helper.getNode('pulse');
    const now = Date.now();
    p.receive({ payload: 1, timestamp: now - 1000 });
    p.receive({ payload: 1, timestamp: now - 500 });
    await waitFor('idle batches', () => batches.filter((b) => b.payload.records[0].pulses === 0).length >= 2, 5000);
    const idle = batches.find((b) => b.payload.records[0].pulses === 0);
    assert.deepEqual(idle.payload.records, [{ kind: 'pulse', port: 7, pulses: 0 }]);
    // 0.5 Wh in 500 ms is 3600 W; the silence after the last pulse bounds it lower, second by second
    const gauges = () => out.filter((m) => m.topic === `/sensor/${sid(1)}/gauge`).map((m) => m.payload[1]);
    await waitFor('a lower gauge', () => gauges().length >= 2 && gauges().at(-1) < 3600, 5000);
    assert.equal(gauges()[0], 3600);
  });
});

const badInputs: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    'a payload that is not a level',
    { payload: 'banana' },
    /msg\.payload must be a pin level \(0 or 1, true or false, "low" or "high"\), not "banana"/,
  ],
  ['an object payload', { payload: { level: 1 } }, /not an object/],
  [
    'a timestamp that is not Unix ms',
    { payload: 0, timestamp: 'yesterday' },
    /msg\.timestamp must be Unix milliseconds, not "yesterday"/,
  ],
];
for (const [name, msg, re] of badInputs) {
  test(`flm-pulse: ${name} reaches Catch with a clear error and a red status; the next good one still counts`, async () => {
    await withDataDir(async (dir) => {
      await helper.load(flmNodes, flow(dir), creds);
      const caught = collect('caught');
      const batches = collect('batches');
      const st = statuses('pulse');
      const p = helper.getNode('pulse');
      p.receive(msg);
      const c = await waitFor('the error at Catch', () => caught[0]);
      assert.match(c.error.message, re);
      assert.equal(c.error.source.id, 'pulse');
      await waitFor('a red status with the reject count', () =>
        st.find((s) => s.fill === 'red' && /^1 rejects: /.test(s.text ?? '')),
      );
      p.receive(pin(1));
      p.receive(pin(0));
      await waitFor('a pulse after the error', () => batches[0]);
    });
  });
}

test('flm-pulse: a wrong setting is a red status and an error, not a crash', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, { port: '', sid: '' }), creds);
    const p = helper.getNode('pulse');
    await waitFor('the error', () => p.error.calledWithMatch(/no port set/) || undefined);
    assert.ok(p.status.calledWithMatch({ fill: 'red' }));
    const caught = collect('caught');
    p.receive(pin(0));
    const c = await waitFor('input refused', () => caught[0]);
    assert.match(c.error.message, /no port set/);
  });
});
