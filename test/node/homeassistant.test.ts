import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import mqtt from 'mqtt';
import {
  helper,
  flmNodes,
  onTab,
  waitFor,
  collect,
  withDataDir,
  freePort,
  nodeRedPath,
  redeploy,
} from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid, T0 } from '../support/device';
import { checkHaSensorConfig } from '../support/ha-sensor-schema';
import type { SensorInput } from '../../core/config/schema';

afterEach(async () => {
  await helper.unload();
});

// The core MQTT nodes, from the node-red the helper runs: HA's birth message comes in through an `mqtt in`.
const coreDir = join(
  dirname(require.resolve('@node-red/nodes/package.json', { paths: [dirname(nodeRedPath)] })),
  'core',
);
const mqttNodes = require(join(coreDir, 'network/10-mqtt.js'));
helper.settings({ mqttReconnectTime: 200 });

const creds = { dev: { deviceKey: DEVICE_KEY } };
const batch = (time: number, records: unknown[]) => ({ topic: 'board/batch', payload: { time, records } });
const PREFIX = 'homeassistant';
const cfgTopic = (s: string, kind: string, prefix = PREFIX) => `${prefix}/sensor/${DEVICE_ID}/${s}_${kind}/config`;
const AVAILABILITY = `flm/${DEVICE_ID}/availability`;

interface Got {
  topic: string;
  payload: string;
  retain: boolean;
}

/** flm-sensor → (flm-homeassistant, flm-broker); flm-homeassistant → flm-broker; HA's birth through an mqtt in. */
function flow(
  dataDir: string,
  port: number,
  opts: { sensors?: SensorInput[]; prefix?: string; birth?: boolean; staleAfter?: string } = {},
) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: opts.sensors ?? HOUSEHOLD_SENSORS },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['ha', 'broker']] },
    {
      id: 'ha',
      type: 'flm-homeassistant',
      device: 'dev',
      prefix: opts.prefix ?? '${FLM_HA_PREFIX}',
      deviceName: '',
      staleAfter: opts.staleAfter ?? '',
      wires: [['broker', 'out']],
    },
    { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(port), wsPort: '', access: 'open' },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    ...(opts.birth
      ? [
          {
            id: 'mb',
            type: 'mqtt-broker',
            broker: '127.0.0.1',
            port: String(port),
            clientid: '',
            autoConnect: true,
            usetls: false,
            protocolVersion: '4',
            keepalive: '60',
            cleansession: true,
          },
          {
            id: 'birth',
            type: 'mqtt in',
            topic: 'homeassistant/status',
            qos: '0',
            datatype: 'utf8',
            broker: 'mb',
            nl: false,
            rap: true,
            rh: 0,
            inputs: 0,
            wires: [['ha']],
          },
        ]
      : []),
  ]);
}

/** A client that plays Home Assistant: subscribes to the discovery prefix, availability and the FLM topics. */
async function playHa(
  port: number,
  topics = ['homeassistant/#', 'flm/#', '/sensor/#'],
): Promise<{ client: mqtt.MqttClient; got: Got[] }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    clientId: 'home-assistant',
  });
  const got: Got[] = [];
  client.on('message', (topic, p, packet) => got.push({ topic, payload: p.toString(), retain: packet.retain }));
  await client.subscribeAsync(topics, { qos: 1 });
  return { client, got };
}

const configsIn = (got: Got[]) => got.filter((m) => m.topic.startsWith(`${PREFIX}/sensor/`) && m.payload !== '');

/** What HA does with the value template on a payload (only the forms this package writes). */
function render(template: string, payload: string): number {
  const m = /^\{\{ value_json\[1\](?: \/ (\d+))? \}\}$/.exec(template);
  assert.ok(m, template);
  const v = (JSON.parse(payload) as unknown[])[1] as number;
  return m[1] ? v / Number(m[1]) : v;
}

test('flm-homeassistant plays with HA on the real broker: retained configs, state through the templates, re-announce on birth', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    await helper.load([...flmNodes, mqttNodes], flow(dir, port, { birth: true }), creds);
    const out = collect('out');
    const caught = collect('caught');
    await waitFor('the first announce', () => out.find((m) => m.topic === AVAILABILITY));
    assert.equal(out.filter((m) => m.topic.endsWith('/config')).length, 8);
    for (const m of out) {
      assert.equal(m.retain, true);
      assert.equal(typeof m.payload, 'string');
    }

    // HA connects after the announce: everything arrives retained.
    const ha = await playHa(port);
    try {
      await waitFor(
        '8 retained configs and availability',
        () => configsIn(ha.got).length === 8 && ha.got.find((m) => m.topic === AVAILABILITY),
      );
      for (const m of configsIn(ha.got)) {
        assert.equal(m.retain, true, m.topic);
        const r = checkHaSensorConfig(JSON.parse(m.payload));
        assert.ok(r.success, `${m.topic}: ${r.errors.join('; ')}`);
      }
      assert.deepEqual(
        ha.got.find((m) => m.topic === AVAILABILITY),
        { topic: AVAILABILITY, payload: 'online', retain: true },
      );
      const configs = new Map(configsIn(ha.got).map((m) => [m.topic, JSON.parse(m.payload)]));
      const gas = configs.get(cfgTopic(sid(3), 'counter'));
      assert.equal(gas.unique_id, `${DEVICE_ID}_${sid(3)}_counter`);
      assert.equal(gas.state_topic, `/sensor/${sid(3)}/counter`);
      assert.deepEqual([gas.device_class, gas.state_class, gas.unit_of_measurement], ['gas', 'total_increasing', 'm³']);
      assert.equal(gas.availability_topic, AVAILABILITY);
      assert.equal(configs.get(cfgTopic(sid(1), 'gauge')).device_class, 'power');
      assert.equal(configs.get(cfgTopic(sid(1), 'counter')).device_class, 'energy');

      // Readings on the state topics, as HA renders them.
      helper.getNode('sensor').receive(
        batch(T0, [
          { kind: 'analog', port: 1, power: 157.4 },
          { kind: 'pulse', port: 5, pulses: 123, time: T0 - 300 },
        ]),
      );
      const gasState = await waitFor('the gas counter on its state topic', () =>
        ha.got.find((m) => m.topic === gas.state_topic),
      );
      assert.equal(render(gas.value_template, gasState.payload), 1.23, '123 pulses × 10 L = 1.23 m³');
      const power = configs.get(cfgTopic(sid(1), 'gauge'));
      const powerState = await waitFor('the main gauge', () => ha.got.find((m) => m.topic === power.state_topic));
      assert.equal(render(power.value_template, powerState.payload), 157);

      // HA restarts: its birth message goes through the broker, the mqtt in node, into flm-homeassistant.
      const before = ha.got.length;
      await waitFor('the mqtt in node connected', () => (helper.getNode('mb') as { connected?: boolean }).connected);
      await ha.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
      await waitFor(
        'the configs again',
        () =>
          configsIn(ha.got.slice(before)).length === 8 && ha.got.slice(before).find((m) => m.topic === AVAILABILITY),
      );
      assert.deepEqual(new Set(configsIn(ha.got.slice(before)).map((m) => m.topic)), new Set(configs.keys()));
      // "offline" from HA is news, not a request.
      const n = out.length;
      await ha.client.publishAsync('homeassistant/status', 'offline', { qos: 1 });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(out.length, n);
      assert.deepEqual(
        caught.map((c) => c.error.message),
        [],
      );
    } finally {
      await ha.client.endAsync();
    }
  });
});

test('flm-homeassistant: a sensor disabled and redeployed gets an empty retained config; a restart re-removes nothing', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    const f = flow(dir, port);
    await helper.load(flmNodes, f, creds);
    let out = collect('out');
    await waitFor('the first announce', () => out.find((m) => m.topic === AVAILABILITY));
    const ha = await playHa(port, ['homeassistant/#', 'flm/#']);
    try {
      await waitFor('8 configs', () => configsIn(ha.got).length === 8);
      const saved = JSON.parse(await readFile(join(dir, 'homeassistant-announced.json'), 'utf8'));
      assert.equal(saved[DEVICE_ID].topics.length, 8);

      // Disable "solar" and deploy the changed nodes: the broker keeps running, and HA with it.
      const before = ha.got.length;
      const sensors = HOUSEHOLD_SENSORS.map((s) => (s.name === 'solar' ? { ...s, enable: false } : s));
      const f2 = flow(dir, port, { sensors });
      await redeploy(f2, 'nodes', creds);
      out = collect('out');
      await waitFor(
        'the removal',
        () => ha.got.slice(before).filter((m) => m.payload === '' && m.topic.includes(sid(2))).length === 2,
      );
      // availability goes out after the configs, in a message of its own: wait for it too
      await waitFor('availability after the redeploy', () =>
        ha.got.slice(before).some((m) => m.topic === AVAILABILITY && m.payload === 'online'),
      );
      const after = ha.got.slice(before);
      for (const m of after.filter((x) => x.payload === ''))
        assert.ok([cfgTopic(sid(2), 'counter'), cfgTopic(sid(2), 'gauge')].includes(m.topic), m.topic);
      assert.deepEqual(
        after.filter((m) => m.topic === AVAILABILITY).map((m) => m.payload),
        ['offline', 'online'],
        'offline while the node stopped, online again',
      );
      await waitFor(
        'the others announced again',
        () => configsIn(after).length === 6 || configsIn(ha.got.slice(before)).length === 6,
      );

      // HA (re)connecting now finds 6 entities and no trace of solar.
      const late = await playHa(port, ['homeassistant/#']);
      await waitFor('6 retained configs', () => late.got.length === 6);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(late.got.length, 6);
      assert.ok(!late.got.some((m) => m.topic.includes(sid(2))));
      await late.client.endAsync();

      // A plain restart with the same table removes nothing.
      const again = ha.got.length;
      await helper.unload();
      await helper.load(flmNodes, f2, creds);
      out = collect('out');
      await waitFor('announce after the restart', () => out.find((m) => m.topic === AVAILABILITY));
      assert.equal(out.filter((m) => m.payload === '').length, 0);
      assert.equal(out.filter((m) => m.topic.endsWith('/config')).length, 6);
      assert.ok(ha.got.length >= again);
    } finally {
      await ha.client.endAsync(true);
    }
  });
});

test('flm-homeassistant: p1/availability is mirrored; a P1 sensor not in the table is announced from msg.flm; a changed prefix removes the old topics', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    await helper.load(flmNodes, flow(dir, port, { sensors: [] }), creds);
    let out = collect('out');
    const caught = collect('caught');
    await waitFor('start', () => out.find((m) => m.topic === AVAILABILITY));
    assert.equal(out.filter((m) => m.topic.endsWith('/config')).length, 0);
    const ha = helper.getNode('ha');

    ha.receive({ topic: 'p1/availability', payload: 'offline' });
    await waitFor('offline', () => out.find((m) => m.topic === AVAILABILITY && m.payload === 'offline'));
    assert.ok(ha.status.calledWithMatch({ fill: 'yellow' }));
    ha.receive({ topic: 'p1/availability', payload: 'online' });
    await waitFor(
      'online again',
      () => out.filter((m) => m.topic === AVAILABILITY && m.payload === 'online').length === 2,
    );
    // a sensor board's watchdog counts the same; its other news (batches) is passed over
    ha.receive({ topic: 'board/batch', payload: { time: T0, records: [] } });
    ha.receive({ topic: 'board/availability', payload: 'offline' });
    await waitFor(
      'offline from the board',
      () => out.filter((m) => m.topic === AVAILABILITY && m.payload === 'offline').length === 2,
    );
    ha.receive({ topic: 'board/availability', payload: 'online' });
    await waitFor(
      'online again',
      () => out.filter((m) => m.topic === AVAILABILITY && m.payload === 'online').length === 3,
    );

    // What flm-sensor sends for a P1 meter when the table has no cosem sensor.
    const p1 = sid(7);
    const gas = sid(8);
    ha.receive({
      topic: `/sensor/${p1}/counter`,
      payload: [T0 / 1000, 1581123, 'Wh'],
      flm: { sid: p1, kind: 'counter', name: 'p1', type: 'electricity', unit: 'Wh', deviceId: DEVICE_ID },
    });
    ha.receive({
      topic: `/sensor/${p1}/gauge`,
      payload: [T0 / 1000, -320, 'W'],
      flm: { sid: p1, kind: 'gauge', name: 'p1', type: 'electricity', unit: 'W', deviceId: DEVICE_ID },
    });
    ha.receive({
      topic: `/sensor/${gas}/counter`,
      payload: [T0 / 1000, 4567, 'L'],
      flm: { sid: gas, kind: 'counter', name: 'gas-g001', type: 'gas', unit: 'L', deviceId: DEVICE_ID },
    });
    ha.receive({
      topic: `/sensor/${p1}/counter`,
      payload: [T0 / 1000 + 1, 1581124, 'Wh'],
      flm: { sid: p1, kind: 'counter', name: 'p1', type: 'electricity', unit: 'Wh', deviceId: DEVICE_ID },
    });
    await waitFor('three learnt entities', () => out.filter((m) => m.topic.endsWith('/config')).length === 3);
    const cfg = (s: string, k: string) => JSON.parse(out.find((m) => m.topic === cfgTopic(s, k)).payload);
    assert.deepEqual([cfg(p1, 'counter').device_class, cfg(p1, 'counter').state_class], ['energy', 'total']);
    assert.equal(cfg(p1, 'gauge').device_class, 'power');
    assert.deepEqual(
      [cfg(gas, 'counter').unit_of_measurement, cfg(gas, 'counter').device.name],
      ['m³', 'Gas meter g001'],
    );
    for (const [s, k] of [
      [p1, 'counter'],
      [p1, 'gauge'],
      [gas, 'counter'],
    ])
      assert.deepEqual(checkHaSensorConfig(cfg(s!, k!)).errors, []);

    // Bad input reaches Catch: an unknown sensor without msg.flm (once), a foreign topic, a bad availability.
    ha.receive({ topic: `/sensor/${sid(9)}/gauge`, payload: [T0 / 1000, 1, 'W'] });
    ha.receive({ topic: `/sensor/${sid(9)}/gauge`, payload: [T0 / 1000 + 1, 1, 'W'] });
    ha.receive({ topic: 'hello', payload: 1 });
    ha.receive({ topic: 'p1/availability', payload: 'maybe' });
    ha.receive({ topic: `/device/${DEVICE_ID}/config/sensor`, payload: {} });
    await waitFor('three errors', () => caught.length === 3);
    const texts = caught.map((c) => c.error.message).join('\n');
    assert.match(texts, /not in the table .* has no msg\.flm/);
    assert.match(
      texts,
      /not a reading, p1\/availability, board\/availability or homeassistant\/status message: topic "hello"/,
    );
    assert.match(texts, /"online" or "offline"/);

    // The learnt sensors survive a restart; a new prefix removes what was under the old one.
    await helper.unload();
    await helper.load(flmNodes, flow(dir, port, { sensors: [], prefix: 'ha2' }), creds);
    out = collect('out');
    await waitFor('start', () => out.find((m) => m.topic === AVAILABILITY));
    assert.deepEqual(
      out
        .filter((m) => m.payload === '')
        .map((m) => m.topic)
        .sort(),
      [cfgTopic(p1, 'counter'), cfgTopic(p1, 'gauge'), cfgTopic(gas, 'counter')].sort(),
    );
    assert.deepEqual(
      out
        .filter((m) => m.payload !== '' && m.topic.endsWith('/config'))
        .map((m) => m.topic)
        .sort(),
      [cfgTopic(p1, 'counter', 'ha2'), cfgTopic(p1, 'gauge', 'ha2'), cfgTopic(gas, 'counter', 'ha2')].sort(),
    );
    // and ha2/status is a birth topic too
    const n = out.length;
    helper.getNode('ha').receive({ topic: 'ha2/status', payload: Buffer.from('online') });
    await waitFor('re-announce on ha2/status', () => out.length === n + 4);
  });
});

test('flm-homeassistant: with "offline after", silence from the source shows the entities unavailable until readings return', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    await helper.load(flmNodes, flow(dir, port, { staleAfter: '0.5' }), creds);
    const out = collect('out');
    await waitFor('start', () => out.find((m) => m.topic === AVAILABILITY));
    const avail = () => out.filter((m) => m.topic === AVAILABILITY).map((m) => m.payload);
    await waitFor('offline after the silence', () => avail().includes('offline'), 5000);
    const ha = helper.getNode('ha');
    assert.ok(ha.status.calledWithMatch({ fill: 'yellow', text: 'no readings · 8 entities · homeassistant' }));
    helper.getNode('sensor').receive(batch(T0, [{ kind: 'analog', port: 1, power: 100 }]));
    await waitFor('online with the reading', () => avail().length === 3);
    assert.deepEqual(avail(), ['online', 'offline', 'online']);
  });
});

test('flm-homeassistant: without a device, or with a bad prefix, a red status and a clear error', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    const f = flow(dir, port, { prefix: 'ha/#' });
    await helper.load(flmNodes, f, creds);
    const ha = helper.getNode('ha');
    await waitFor('the error', () => ha.error.calledWithMatch('not a valid MQTT topic prefix') || undefined);
    assert.ok(ha.status.calledWithMatch({ fill: 'red' }));
  });
});
