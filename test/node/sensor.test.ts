import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { helper, flmNodes, onTab, waitFor, collect, statuses, withDataDir } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid, T0 } from '../support/device';
import { parseTelegram } from '../../core/p1';
import { fixture, telegramOf } from '../unit/p1/fixtures';

afterEach(async () => {
  await helper.unload();
});

function flow(dataDir: string, sensors: unknown = HOUSEHOLD_SENSORS) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}
const creds = { dev: { deviceKey: DEVICE_KEY } };
const batch = (time: number, records: unknown[]) => ({ topic: 'board/batch', payload: { time, records } });

test('flm-sensor turns board batches into FLM reading messages', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const out = collect('out');
    const sensor = helper.getNode('sensor');
    sensor.receive(
      batch(T0, [
        { kind: 'analog', port: 1, power: 157.4 },
        { kind: 'pulse', port: 5, pulses: 2, time: T0 - 300 },
      ]),
    );
    const gauge = await waitFor('a gauge', () => out.find((m) => m.topic === `/sensor/${sid(1)}/gauge`));
    assert.deepEqual(gauge.payload, [T0 / 1000, 157, 'W']);
    assert.equal(gauge.retain, true);
    assert.deepEqual(gauge.flm, {
      sid: sid(1),
      kind: 'gauge',
      name: 'main',
      type: 'electricity',
      class: 'analog',
      unit: 'W',
      deviceId: DEVICE_ID,
    });
    const gas = out.find((m) => m.topic === `/sensor/${sid(3)}/counter`);
    assert.deepEqual(gas.payload, [T0 / 1000, 20, 'L']);
    assert.deepEqual(gas.flm.unit, 'L');
  });
});

test('flm-sensor publishes the sensor table, retained, on /device/<did>/config/sensor at start', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const out = collect('out');
    const cfg = await waitFor('the config message', () =>
      out.find((m) => m.topic === `/device/${DEVICE_ID}/config/sensor`),
    );
    assert.equal(cfg.retain, true);
    assert.deepEqual(Object.keys(cfg.payload).sort(), ['1', '2', '3', '4', 'main']);
    assert.equal(cfg.payload['2'].id, sid(2));
    assert.equal(cfg.payload['2'].constant, 1);
  });
});

const badInputs: Array<[string, unknown, RegExp]> = [
  ['a payload that is not a batch', { topic: 'x', payload: 'hello' }, /not a board batch/],
  [
    'a record with a negative pulse count',
    batch(T0, [{ kind: 'pulse', port: 4, pulses: -1 }]),
    /not a board batch: records\.0\.pulses/,
  ],
  ['an unknown sensor id', batch(T0, [{ kind: 'pulse', sid: 'f'.repeat(32), pulses: 1 }]), /unknown sensor id f{32}/],
  [
    'a clock before 2009-02-13',
    batch(1_000_000_000_000, [{ kind: 'pulse', port: 4, pulses: 1 }]),
    /clock not valid: 1000000000 is at or before 1234567890/,
  ],
];
for (const [name, msg, re] of badInputs) {
  test(`flm-sensor: ${name} reaches Catch, turns the status red with a reject count, and nothing crashes`, async () => {
    await withDataDir(async (dir) => {
      await helper.load(flmNodes, flow(dir), creds);
      const caught = collect('caught');
      const st = statuses('sensor');
      const sensor = helper.getNode('sensor');
      sensor.receive(msg);
      const c = await waitFor('the error at Catch', () => caught[0]);
      assert.match(c.error.message, re);
      assert.equal(c.error.source.id, 'sensor');
      await waitFor('a red status', () => st.find((s) => s.fill === 'red'));
      // still alive: a good batch after a bad one is processed
      const out = collect('out');
      sensor.receive(batch(T0, [{ kind: 'analog', port: 1, power: 10 }]));
      await waitFor('a reading after the error', () => out.find((m) => m.topic.endsWith('/gauge')));
    });
  });
}

test('flm-sensor counts rejects in its status; the same error again within the minute is counted, not reported again', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    const st = statuses('sensor');
    const caught = collect('caught');
    const sensor = helper.getNode('sensor');
    for (let i = 0; i < 3; i++) sensor.receive({ payload: 42 });
    await waitFor('status with 3 rejects', () => st.find((s) => s.fill === 'red' && /^3 rejects/.test(s.text ?? '')));
    assert.equal(caught.length, 1, 'the first of the kind reaches Catch');
    assert.match(caught[0].error.message, /not a board batch/);
    sensor.receive({ topic: 'p1/telegram', payload: 'raw text' });
    await waitFor('another kind of error reaches Catch at once', () => caught.length === 2);
    assert.match(caught[1].error.message, /not a parsed P1 telegram/);
    await waitFor('status with 4 rejects', () => st.find((s) => /^4 rejects/.test(s.text ?? '')));
  });
});

test('an invalid sensor table gives a red status and an error, not a crash', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, [{ name: 'x', type: 'water', class: 'pulse', port: [4] }]), creds);
    const caught = collect('caught');
    const st = statuses('sensor');
    await waitFor('red status', () =>
      st.find((s) => s.fill === 'red' && /^config: sensors\.0\.constant: a pulse sensor/.test(s.text ?? '')),
    );
    helper.getNode('sensor').receive(batch(T0, []));
    const c = await waitFor('error at Catch', () => caught[0]);
    assert.match(c.error.message, /invalid device config: sensors\.0\.constant: a pulse sensor needs a meter constant/);
  });
});

test('counters survive a restart: saved on close, continued on start', async () => {
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir), creds);
    helper.getNode('sensor').receive(batch(T0, [{ kind: 'pulse', port: 6, pulses: 41 }]));
    const out1 = collect('out');
    await waitFor('water counter', () => out1.find((m) => m.topic === `/sensor/${sid(4)}/counter`));
    await helper.unload();
    const saved = JSON.parse(await readFile(join(dir, `counters-${DEVICE_ID}.json`), 'utf8'));
    assert.deepEqual(saved.sensors[sid(4)], { milli: 41_000 });

    await helper.load(flmNodes, flow(dir), creds);
    const out2 = collect('out');
    helper.getNode('sensor').receive(batch(T0 + 5000, [{ kind: 'pulse', port: 6, pulses: 1 }]));
    const c = await waitFor('water counter after restart', () =>
      out2.find((m) => m.topic === `/sensor/${sid(4)}/counter`),
    );
    assert.deepEqual(c.payload, [T0 / 1000 + 5, 42, 'L']);
  });
});

test('the device id and key are generated once and kept in the data dir when left blank', async () => {
  await withDataDir(async (dir) => {
    const f = onTab([
      {
        id: 'dev',
        type: 'flm-device',
        deviceId: '${FLM_UNSET_VAR_FOR_TEST}',
        dataDir: dir,
        sensors: HOUSEHOLD_SENSORS,
      },
      { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    await helper.load(flmNodes, f);
    const out = collect('out');
    const cfg = await waitFor('config', () =>
      out.find((m) => /^\/device\/[0-9a-f]{32}\/config\/sensor$/.test(m.topic)),
    );
    const kept = JSON.parse(await readFile(join(dir, 'device.json'), 'utf8'));
    assert.equal(cfg.topic, `/device/${kept.id}/config/sensor`);
    assert.match(kept.key, /^[0-9a-f]{32}$/);
    await helper.unload();
    await helper.load(flmNodes, f);
    const again = collect('out');
    await waitFor('same id after restart', () => again.find((m) => m.topic === `/device/${kept.id}/config/sensor`));
  });
});

test('a second flm-sensor on the same device is refused (it would overwrite the counters)', async () => {
  await withDataDir(async (dir) => {
    const f = flow(dir);
    f.push({ id: 'sensor2', type: 'flm-sensor', device: 'dev', z: 'tab1', wires: [[]] });
    await helper.load(flmNodes, f, creds);
    const st1 = statuses('sensor');
    const st2 = statuses('sensor2');
    await waitFor(
      'one of them red',
      () => [...st1, ...st2].find((s) => s.fill === 'red' && /already has an flm-sensor/.test(s.text ?? '')),
      5000,
    ).catch(async () => {
      // statuses may have been set before we listened: ask the nodes directly
      const caught = collect('caught');
      helper.getNode('sensor').receive(batch(T0, []));
      helper.getNode('sensor2').receive(batch(T0, []));
      await waitFor('an error', () => caught.find((c) => /already has an flm-sensor/.test(c.error.message)));
    });
  });
});

test('flm-sensor turns parsed P1 telegrams into readings of its cosem sensors', async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      flow(dir, [{ n: 1, id: sid(7), name: 'smart-main', type: 'electricity', class: 'cosem', p1: 'net' }]),
      creds,
    );
    const out = collect('out');
    const caught = collect('caught');
    const s = helper.getNode('sensor');
    s.receive({ topic: 'p1/telegram', payload: parseTelegram(telegramOf(fixture('dsmr5-nl.txt'))) });
    s.receive({ topic: 'p1/availability', payload: 'online' }); // passed over, not an error
    s.receive({ topic: 'p1/telegram', payload: { hello: 1 } });
    const counter = await waitFor('net counter', () => out.find((m) => m.topic === `/sensor/${sid(7)}/counter`));
    assert.equal(counter.flm.name, 'smart-main');
    assert.equal(counter.payload[2], 'Wh');
    assert.ok(out.find((m) => m.topic === `/sensor/${sid(7)}/gauge`));
    const c = await waitFor('the bad telegram at Catch', () => caught[0]);
    assert.match(c.error.message, /not a parsed P1 telegram/);
    assert.equal(caught.length, 1, 'availability news is not an error');
  });
});

test('flm-sensor passes over what flm-board reports besides batches, and takes its counter and gauge records', async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      flow(dir, [
        { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1] },
        { n: 2, id: sid(2), name: 'main voltage', type: 'electricity', class: 'analog', port: [1], subtype: 'vrms' },
      ]),
      creds,
    );
    const out = collect('out');
    const caught = collect('caught');
    const sensor = helper.getNode('sensor');
    sensor.receive({ topic: 'board/availability', payload: 'online' });
    sensor.receive({ topic: 'board/time', payload: { action: 'none' } });
    sensor.receive(
      batch(T0, [
        { kind: 'counter', port: 1, subtype: 'pplus', value: 1234.5 },
        { kind: 'gauge', port: 1, subtype: 'pplus', value: 2300.5 },
        { kind: 'gauge', port: 1, subtype: 'vrms', value: 230.125 },
      ]),
    );
    await waitFor('the voltage', () => out.find((m) => m.topic === `/sensor/${sid(2)}/gauge`));
    assert.deepEqual(out.find((m) => m.topic === `/sensor/${sid(1)}/counter`).payload, [T0 / 1000, 1234, 'Wh']);
    assert.deepEqual(out.find((m) => m.topic === `/sensor/${sid(1)}/gauge`).payload, [T0 / 1000, 2300.5, 'W']);
    const v = out.find((m) => m.topic === `/sensor/${sid(2)}/gauge`);
    assert.deepEqual(v.payload, [T0 / 1000, 230.125, 'V']);
    assert.equal(v.flm.subtype, 'vrms');
    assert.equal(
      out.some((m) => m.topic === `/sensor/${sid(2)}/counter`),
      false,
      'a voltage has no counter',
    );
    assert.deepEqual(caught, []);
  });
});

test('flm-sensor turns board/kube packets into readings of its kube sensors, and says what an unknown Kube sends', async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      flow(dir, [
        { n: 7, id: sid(7), name: 'hall', type: 'temperature', class: 'kube', kid: 3 },
        { n: 8, id: sid(8), name: 'hall motion', type: 'movement', class: 'kube', kid: 3 },
      ]),
      creds,
    );
    const out = collect('out');
    const caught = collect('caught');
    const sensor = helper.getNode('sensor');
    const warnings: string[] = [];
    const warn = sensor.warn;
    sensor.warn = (m: unknown) => {
      warnings.push(String(m));
      return warn.call(sensor, m);
    };
    // FLK01A: 23.44 °C, 56.5 %, 2.5 V, error 0, with an ACK asked
    sensor.receive({
      topic: 'board/kube',
      payload: { group: 212, nid: 3, kind: 'data', ack: true, payload: '66660080' + '0a00' },
    });
    sensor.receive({ topic: 'board/kube', payload: { nid: 3, payload: Buffer.from([5, 0, 0, 0]) } });
    const temp = await waitFor('the temperature', () => out.find((m) => m.topic === `/sensor/${sid(7)}/gauge`));
    assert.equal(temp.payload[1], 23.44);
    assert.equal(temp.payload[2], '°C');
    assert.ok(Math.abs(temp.payload[0] - Date.now() / 1000) < 5, 'stamped when it arrived');
    assert.equal(temp.qos, 1, 'a Kube that asked for an ACK is published with QoS 1, as on the FLM');
    assert.equal(temp.retain, true);
    assert.deepEqual(temp.flm, {
      sid: sid(7),
      kind: 'gauge',
      name: 'hall',
      type: 'temperature',
      class: 'kube',
      unit: '°C',
      deviceId: DEVICE_ID,
    });
    const motion = await waitFor('the movement count', () => out.find((m) => m.topic === `/sensor/${sid(8)}/counter`));
    assert.equal(motion.payload[1], 5);
    assert.equal(motion.qos, 0);
    assert.match(
      warnings.join('\n'),
      /Kube 3 sends humidity 56\.5 %, battery 2\.5 V, error 0, which no sensor takes: add kube sensors for the fields you want/,
    );

    sensor.receive({ topic: 'board/kube', payload: { nid: 9, payload: '0100' } });
    await waitFor('a note on Kube 9', () =>
      warnings.find((w) => /Kube 9 sends vibration 1, which no sensor takes: add kube sensors with kid 9/.test(w)),
    );
    const pair = '124b' + 'd4' + '09' + '0000' + 'ab'.repeat(16);
    sensor.receive({ topic: 'board/kube', payload: { nid: 9, kind: 'control', ack: true, payload: pair } });
    await waitFor('a note on pairing', () =>
      warnings.find((w) => /Kube 9 asks to pair \(hw_type 19218, hw_id (ab){16}\)/.test(w)),
    );
    assert.equal(caught.length, 0, 'notes, not errors');

    sensor.receive({ topic: 'board/kube', payload: { nid: 3, payload: '0102030405' } });
    sensor.receive({ topic: 'board/kube', payload: { nid: 3, payload: 'xyz' } });
    await waitFor('two errors', () => caught.length === 2);
    assert.match(caught[0].error.message, /Kube 3: no Kube format is 5 bytes long/);
    assert.match(caught[1].error.message, /not a Kube packet: payload/);
  });
});
