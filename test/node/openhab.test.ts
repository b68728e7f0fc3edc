import { test, afterEach, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, collect, statuses, withDataDir, freePort } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid, T0 } from '../support/device';
import { OpenHabServer } from '../support/openhab-server';
import { checkHomie, type Retained } from '../support/homie';

const TOKEN = 'oh.nodered.abc123';
const creds = (token = TOKEN) => ({ dev: { deviceKey: DEVICE_KEY }, oh: { token } });
const batch = (time: number, records: unknown[]) => ({ topic: 'board/batch', payload: { time, records } });
const reading = (
  n: number,
  kind: string,
  ts: number,
  v: number,
  unit: string,
  name = 'main',
  type = 'electricity',
) => ({
  topic: `/sensor/${sid(n)}/${kind}`,
  payload: [ts, v, unit],
  flm: { sid: sid(n), kind, name, type, unit, deviceId: DEVICE_ID },
});

let server: OpenHabServer;
before(async () => {
  server = await new OpenHabServer({ token: TOKEN, items: {} }).start();
});
after(() => server.close());
afterEach(async () => {
  await helper.unload();
  server.release();
});

function flow(dataDir: string, port: number, oh: Record<string, unknown>) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['oh']] },
    {
      id: 'oh',
      type: 'flm-openhab',
      device: 'dev',
      url: server.url,
      units: 'units',
      items: [],
      homie: 'off',
      homieName: '',
      wires: [['broker', 'out']],
      ...oh,
    },
    { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(port), wsPort: '', access: 'open' },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

/** Everything the broker retains under homie/, as a controller connecting now sees it. */
async function homieRetained(port: number): Promise<Map<string, Retained>> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const got = new Map<string, Retained>();
  client.on('message', (topic, p, packet) => got.set(topic, { payload: p.toString(), retain: packet.retain }));
  await client.subscribeAsync('homie/#', { qos: 1 });
  // Retained messages stream in after SUBACK, slower on a loaded machine: take them until the
  // device's $nodes is there and nothing new came for 300 ms (at most 10 s).
  let count = -1;
  let quietSince = Date.now();
  await waitFor(
    'the retained Homie device',
    () => {
      if (got.size !== count) [count, quietSince] = [got.size, Date.now()];
      return [...got.keys()].some((t) => t.endsWith('/$nodes')) && Date.now() - quietSince >= 300;
    },
    10_000,
    50,
  );
  await client.endAsync();
  return got;
}

test('flm-openhab: REST item states on an openHAB stand-in and a Homie 4 device on the real broker', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    server.addItem('flm_main_power', 'Number:Power');
    server.addItem('flm_main_energy', 'Number:Energy');
    server.addItem('flm_gas_volume', 'Number:Volume');
    await helper.load(flmNodes, flow(dir, port, { homie: 'on', homieName: 'Our house' }), creds());
    const out = collect('out');
    const caught = collect('caught');
    const seen = statuses('oh');
    await waitFor('Homie ready', () =>
      out.find((m) => m.topic === `homie/${DEVICE_ID}/$state` && m.payload === 'ready'),
    );
    assert.equal(out[0].payload, 'init');
    for (const m of out) assert.deepEqual([m.retain, m.qos], [true, 1], m.topic);

    helper.getNode('sensor').receive(
      batch(T0, [
        { kind: 'analog', port: 1, power: 157.4 },
        { kind: 'pulse', port: 5, pulses: 123, time: T0 - 300 },
      ]),
    );
    await waitFor(
      'main power and gas volume in openHAB',
      () => server.statesOf('flm_main_power').length && server.statesOf('flm_gas_volume').length,
    );
    assert.deepEqual(server.statesOf('flm_main_power'), ['157 W']);
    assert.deepEqual(server.statesOf('flm_gas_volume'), ['1230 l']);
    // Items openHAB does not have: one clear error each, naming the item, with the reading for Catch.
    const oh = helper.getNode('oh');
    for (let i = 0; i < 5; i++) oh.receive(reading(3, 'gauge', T0 / 1000 + i, 1440, 'L/day', 'gas', 'gas'));
    await waitFor('the gas flow item reported', () => caught.find((c) => /flm_gas_flow/.test(c.error.message)));
    await new Promise((r) => setTimeout(r, 200));
    const missing = caught.map((c) => c.error.message as string);
    assert.ok(
      missing.includes(
        'openHAB has no item "flm_gas_flow": create item flm_gas_flow in openHAB or map the sensor to an existing item in this node\'s item table',
      ),
      missing.join('\n'),
    );
    for (const t of missing) assert.match(t, /openHAB has no item "flm_\w+"/);
    assert.equal(new Set(missing).size, missing.length, 'each reported once');
    assert.equal(caught.find((c) => /flm_gas_flow/.test(c.error.message)).topic, `/sensor/${sid(3)}/gauge`);
    await waitFor('the status counts missing items', () => /items missing/.test(seen.at(-1)?.text ?? ''));

    // What a controller (openHAB's Homie binding) finds on the broker.
    await waitFor('the main power value', () => out.find((m) => m.topic === `homie/${DEVICE_ID}/main/power`));
    const homie = await homieRetained(port);
    assert.deepEqual(checkHomie(homie).problems, []);
    assert.equal(homie.get(`homie/${DEVICE_ID}/$state`)!.payload, 'ready');
    assert.equal(homie.get(`homie/${DEVICE_ID}/$name`)!.payload, 'Our house');
    assert.equal(homie.get(`homie/${DEVICE_ID}/main/power`)!.payload, '157');
    assert.equal(homie.get(`homie/${DEVICE_ID}/gas/volume`)!.payload, '1230');
    assert.match(seen.at(-1)!.text!, /^\d+ sent · \d+ items missing · homie\//);
    assert.equal(seen.at(-1)!.fill, 'green');
  });
});

test('flm-openhab: a refused token shows red, is reported once and openHAB is not hammered', async () => {
  await withDataDir(async (dir) => {
    server.addItem('flm_main_power');
    const port = await freePort();
    const before = server.statuses.length;
    await helper.load(flmNodes, flow(dir, port, {}), creds('oh.nodered.wrong'));
    const caught = collect('caught');
    const seen = statuses('oh');
    const oh = helper.getNode('oh');
    for (let i = 0; i < 50; i++) oh.receive(reading(1, 'gauge', T0 / 1000 + i, i, 'W'));
    await waitFor('authentication failed', () =>
      seen.find((s) => s.fill === 'red' && /authentication failed/.test(s.text ?? '')),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(server.statuses.slice(before), [401], 'one request, then nothing');
    assert.equal(caught.length, 1);
    assert.match(caught[0].error.message, /openHAB authentication failed \(HTTP 401\).*check the API token/);
  });
});

test('flm-openhab: while openHAB is slow, readings of an item coalesce to the newest; plain numbers and mapped items', async () => {
  await withDataDir(async (dir) => {
    server.addItem('Home_Power');
    const port = await freePort();
    const items = [
      { sensor: 'main', kind: 'gauge', item: 'Home_Power' },
      { sensor: 'main', kind: 'counter', item: '-' },
    ];
    await helper.load(flmNodes, flow(dir, port, { units: 'plain', items }), creds());
    const caught = collect('caught');
    const oh = helper.getNode('oh');
    server.hold();
    oh.receive(reading(1, 'gauge', T0 / 1000, 100, 'W'));
    await waitFor('the first request held by openHAB', () => server.waiting === 1);
    for (let i = 1; i <= 200; i++) oh.receive(reading(1, 'gauge', T0 / 1000 + i, 100 + i, 'W'));
    oh.receive(reading(1, 'counter', T0 / 1000, 5000, 'Wh'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.waiting, 1, 'still one request for the item');
    server.release();
    await waitFor('the newest value', () => server.statesOf('Home_Power').length === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(server.statesOf('Home_Power'), ['100', '300']);
    assert.equal(server.maxConcurrent.get('Home_Power'), 1);
    assert.deepEqual(caught, []);
  });
});

test('flm-openhab: bad input reaches Catch and counts as a reject; nothing configured is an error', async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    await helper.load(flmNodes, flow(dir, port, {}), creds());
    const caught = collect('caught');
    const seen = statuses('oh');
    const oh = helper.getNode('oh');
    oh.receive({ topic: 'hello', payload: 1 });
    oh.receive({ topic: `/sensor/${sid(1)}/gauge`, payload: 'x' });
    oh.receive({ topic: `/sensor/${sid(9)}/gauge`, payload: [1, 2, 'W'] });
    oh.receive({ topic: `/device/${DEVICE_ID}/config/sensor`, payload: {} });
    await waitFor('three errors', () => caught.length === 3);
    assert.match(caught[0].error.message, /not a reading/);
    assert.match(caught[1].error.message, /\[ts,value,"unit"\]/);
    assert.match(caught[2].error.message, /has no name/);
    assert.match(seen.at(-1)!.text!, /3 rejects/);
  });
  await withDataDir(async (dir) => {
    await helper.load(flmNodes, flow(dir, await freePort(), { url: '', homie: 'off' }), creds());
    // Set while the node is created: read from the helper's spy, this node's calls only.
    const oh = helper.getNode('oh');
    const calls = () =>
      oh.status
        .getCalls()
        .filter((c: any) => c.thisValue === oh)
        .map((c: any) => c.args[0]);
    await waitFor('a red status', () => calls().find((s: any) => s.fill === 'red' && /nothing to do/.test(s.text)));
  });
});
