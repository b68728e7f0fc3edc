import { test, afterEach, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, collect, statuses, withDataDir, freePort } from '../support/nodered';
import { DEVICE_ID, DEVICE_KEY, sid, device } from '../support/device';
import { flm02Config } from '../support/flm-config';
import { checkHaSensorConfig } from '../support/ha-sensor-schema';
import { EmbeddedBroker } from '../../core/broker/embedded-broker';
import { readingMessage } from '../../nodes/flm-sensor';
import { tempDir } from '../support/temp-dir';

afterEach(async () => {
  await helper.unload();
});
/** Where flm-in keeps its counters' state: never the working folder, and one folder per flow. */
let flows = 0;
let dataDir: Awaited<ReturnType<typeof tempDir>>;
before(async () => {
  dataDir = await tempDir();
});
after(() => dataDir.remove());

const CONFIG_TOPIC = `/device/${DEVICE_ID}/config/sensor`;
const T = 1_750_000_000;

/** A broker that carries FLM topics, and a client that plays the FLM publishing into it. */
async function flmBroker(
  port = 0,
  access: { mode: 'open' } | { mode: 'authenticated'; username: string; password: string } = { mode: 'open' },
) {
  const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port, wsPort: null, access });
  const login = access.mode === 'authenticated' ? { username: access.username, password: access.password } : {};
  const flm = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, {
    reconnectPeriod: 0,
    clientId: 'fluksod',
    ...login,
  });
  return {
    broker,
    flm,
    async close() {
      await flm.endAsync(true);
      await broker.close(2000);
    },
  };
}

const inNode = (port: number, extra: Record<string, unknown> = {}) => ({
  id: 'in',
  type: 'flm-in',
  url: `mqtt://127.0.0.1:${port}`,
  caFile: '',
  clientId: '',
  retained: 'skip',
  dataDir: join(dataDir.path, String(++flows)),
  wires: [['out']],
  ...extra,
});
const probes = [
  { id: 'out', type: 'helper' },
  { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];
const readingsIn = (out: any[]) => out.filter((m) => m.topic.startsWith('/sensor/'));

test('flm-in reads an FLM broker: the retained sensor table, every payload form, readings in the message contract', async () => {
  const b = await flmBroker();
  try {
    // Before flm-in connects: the FLM's table and an old reading, both retained.
    await b.flm.publishAsync(CONFIG_TOPIC, JSON.stringify(flm02Config()), { retain: true, qos: 1 });
    await b.flm.publishAsync(`/sensor/${sid(1)}/gauge`, `[${T - 600},99,"W"]`, { retain: true, qos: 1 });
    await helper.load(flmNodes, onTab([inNode(b.broker.tcpPort), ...probes]));
    const out = collect('out');
    const caught = collect('caught');
    const seen = statuses('in');
    const config = await waitFor('the sensor table passed on', () => out.find((m) => m.topic === CONFIG_TOPIC));
    assert.deepEqual(config.payload, flm02Config());
    assert.equal(config.retain, true);
    await waitFor('connected with 6 sensors', () => /^connected · 6 sensors/.test(seen.at(-1)?.text ?? ''));

    // Live readings, as an FLM02 (compact), an FLM03 (spaces) and people (v, [v], [v,"unit"]) publish them.
    const live: Array<[string, string]> = [
      [`/sensor/${sid(1)}/gauge`, `[${T},157,"W"]`],
      [`/sensor/${sid(1)}/counter`, `[${T}, 1234.5, "Wh"]`],
      [`/sensor/${sid(3)}/counter`, '4567'],
      [`/sensor/${sid(3)}/gauge`, '[12.5]'],
      [`/sensor/${sid(9)}/counter`, '[99,"Wh"]'],
      [`/sensor/${sid(1)}/gauge`, '{"v":1}'],
      [`/sensor/${sid(1)}/gauge`, '[1,2,3]'],
    ];
    const before = Math.floor(Date.now() / 1000);
    for (const [topic, payload] of live) await b.flm.publishAsync(topic, payload, { qos: 1 });
    await waitFor('five readings and two rejects', () => readingsIn(out).length === 5 && caught.length === 2);
    const after = Math.floor(Date.now() / 1000);
    const got = readingsIn(out);
    assert.deepEqual(got[0], {
      _msgid: got[0]._msgid,
      topic: `/sensor/${sid(1)}/gauge`,
      payload: [T, 157, 'W'],
      retain: true,
      qos: 0,
      flm: {
        sid: sid(1),
        kind: 'gauge',
        name: 'main',
        type: 'electricity',
        class: 'analog',
        unit: 'W',
        deviceId: DEVICE_ID,
      },
    });
    // The same shape flm-sensor gives: a flow cannot tell where a reading came from.
    const own = readingMessage(
      { sid: sid(1), kind: 'gauge', ts: T, value: 157, unit: 'W', sensor: device().sensors[0]! },
      DEVICE_ID,
    ) as any;
    assert.deepEqual({ ...got[0], _msgid: undefined }, { ...own, _msgid: undefined });
    assert.deepEqual(got[1].payload, [T, 1234.5, 'Wh']);
    assert.equal(got[2].payload[1], 4567);
    assert.equal(got[2].payload[2], 'L', 'the unit of a gas counter');
    assert.ok(got[2].payload[0] >= before && got[2].payload[0] <= after, 'stamped on arrival');
    assert.deepEqual(got[3].payload.slice(1), [12.5, 'L/day']);
    assert.deepEqual([got[4].flm.name, got[4].flm.subtype], ['phase1', 'pplus']);
    assert.ok(
      !got.some((m) => m.payload[1] === 99 && m.topic.endsWith('/gauge')),
      'the old retained reading was skipped',
    );
    assert.match(
      caught[0].error.message,
      /reading payload must be v, \[v\], \[v,"unit"\] or \[ts,v,"unit"\]; got \{"v":1\}/,
    );
    assert.equal(caught[0].topic, `/sensor/${sid(1)}/gauge`);
    assert.equal(caught[0].payload, '{"v":1}');
    assert.deepEqual(seen.at(-1), {
      fill: 'red',
      shape: 'ring',
      text: '2 rejects: reading payload must be v, [v], [v,"uni…',
    });
    await b.flm.publishAsync(`/sensor/${sid(1)}/gauge`, `[${T + 1},158,"W"]`, { qos: 1 });
    await waitFor(
      'green again, with the counts',
      () => seen.at(-1)?.text === 'connected · 6 sensors · 6 readings · 2 rejects' && seen.at(-1)?.fill === 'green',
    );
    // The same bad payload again within the minute: counted, not reported again.
    for (let i = 0; i < 3; i++) await b.flm.publishAsync(`/sensor/${sid(1)}/gauge`, `{"v":${i}}`, { qos: 1 });
    await waitFor('5 rejects counted', () => /^5 rejects: /.test(seen.at(-1)?.text ?? ''));
    assert.equal(caught.length, 2, 'no more errors at Catch for the same kind');
    // A warning for the section tmpod mangled.
    const inNodeObj = helper.getNode('in');
    const warns = inNodeObj.warn
      .getCalls()
      .filter((c: any) => c.thisValue === inNodeObj)
      .map((c: any) => String(c.args[0]));
    assert.ok(
      warns.some((w: string) => /sensor 6: its id was published as a number/.test(w)),
      warns.join('\n'),
    );
  } finally {
    await helper.unload();
    await b.close();
  }
});

test("flm-in feeds flm-homeassistant unchanged: the FLM's sensors appear as valid discovery configs", async () => {
  await withDataDir(async (dir) => {
    const b = await flmBroker();
    try {
      await b.flm.publishAsync(CONFIG_TOPIC, JSON.stringify(flm02Config()), { retain: true, qos: 1 });
      await helper.load(
        flmNodes,
        onTab([
          { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: [] },
          inNode(b.broker.tcpPort, { wires: [['ha']] }),
          {
            id: 'ha',
            type: 'flm-homeassistant',
            device: 'dev',
            prefix: 'homeassistant',
            deviceName: '',
            staleAfter: '',
            wires: [['out']],
          },
          ...probes,
        ]),
        { dev: { deviceKey: DEVICE_KEY } },
      );
      const out = collect('out');
      const caught = collect('caught');
      const seen = statuses('in');
      await waitFor('flm-in connected with the table', () => /^connected · 6 sensors/.test(seen.at(-1)?.text ?? ''));
      await b.flm.publishAsync(`/sensor/${sid(1)}/gauge`, `[${T},157,"W"]`, { qos: 1 });
      await b.flm.publishAsync(`/sensor/${sid(1)}/counter`, `[${T},1234,"Wh"]`, { qos: 1 });
      await b.flm.publishAsync(`/sensor/${sid(3)}/counter`, '4567', { qos: 1 });
      const cfg = (s: string, k: string) =>
        out.find((m) => m.topic === `homeassistant/sensor/${DEVICE_ID}/${s}_${k}/config`);
      await waitFor(
        'three entities announced',
        () => cfg(sid(1), 'gauge') && cfg(sid(1), 'counter') && cfg(sid(3), 'counter'),
      );
      for (const [s, k] of [
        [sid(1), 'gauge'],
        [sid(1), 'counter'],
        [sid(3), 'counter'],
      ] as const) {
        const c = JSON.parse(cfg(s, k).payload);
        assert.deepEqual(checkHaSensorConfig(c).errors, [], `${s} ${k}`);
        assert.equal(c.state_topic, `/sensor/${s}/${k}`);
      }
      assert.equal(JSON.parse(cfg(sid(1), 'gauge').payload).name, 'main power');
      const gas = JSON.parse(cfg(sid(3), 'counter').payload);
      assert.deepEqual([gas.device_class, gas.unit_of_measurement], ['gas', 'm³']);
      assert.deepEqual(
        caught.map((c) => c.error.message),
        [],
      );
    } finally {
      await helper.unload();
      await b.close();
    }
  });
});

test('flm-in: the broker goes away and comes back; a refused login is red, reported once and not retried', async () => {
  const port = await freePort();
  let b = await flmBroker(port);
  try {
    await b.flm.publishAsync(CONFIG_TOPIC, JSON.stringify(flm02Config()), { retain: true, qos: 1 });
    await helper.load(flmNodes, onTab([inNode(port), ...probes]));
    const out = collect('out');
    const seen = statuses('in');
    await waitFor('connected', () => /^connected · 6/.test(seen.at(-1)?.text ?? ''));
    await b.close();
    await waitFor('disconnected', () => /^disconnected/.test(seen.at(-1)?.text ?? ''));
    assert.equal(seen.at(-1)!.fill, 'yellow');
    b = await flmBroker(port);
    await waitFor(
      'connected again (mqtt.js retries every 5 s)',
      () => /^connected/.test(seen.at(-1)?.text ?? ''),
      15_000,
    );
    // The new broker has no table: the sensors learnt before still name the readings.
    await b.flm.publishAsync(`/sensor/${sid(1)}/gauge`, `[${T},160,"W"]`, { qos: 1 });
    const r = await waitFor('a reading after the reconnect', () => readingsIn(out).find((m) => m.payload[1] === 160));
    assert.equal(r.flm.name, 'main');
  } finally {
    await helper.unload();
    await b.close();
  }

  const locked = await flmBroker(0, { mode: 'authenticated', username: 'flm', password: 'right' });
  try {
    let connects = 0;
    locked.broker.aedes.on('client', () => connects++);
    await helper.load(flmNodes, onTab([inNode(locked.broker.tcpPort), ...probes]), {
      in: { username: 'flm', password: 'wrong' },
    });
    const caught = collect('caught');
    const seen = statuses('in');
    const node = helper.getNode('in');
    const errors = () =>
      node.error
        .getCalls()
        .filter((c: any) => c.thisValue === node)
        .map((c: any) => String(c.args[0]));
    await waitFor('red: refused', () => seen.find((s) => s.fill === 'red' && /^broker refused/.test(s.text ?? '')));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(errors().length, 1);
    assert.match(errors()[0]!, /refused the connection: .*check the username and password/);
    assert.deepEqual(caught, []);
    assert.equal(connects, 0, 'never got in');
  } finally {
    await helper.unload();
    await locked.close();
  }
});

test('flm-in: a bad URL is a red status; close releases the connection', async () => {
  await helper.load(flmNodes, onTab([inNode(1, { url: 'http://127.0.0.1:1883' }), ...probes]));
  const node = helper.getNode('in');
  const calls = () =>
    node.status
      .getCalls()
      .filter((c: any) => c.thisValue === node)
      .map((c: any) => c.args[0]);
  await waitFor('red', () =>
    calls().find((s: any) => s.fill === 'red' && /must start with mqtt:\/\/ or mqtts:\/\//.test(s.text)),
  );
  await helper.unload();
  const b = await flmBroker();
  try {
    await helper.load(flmNodes, onTab([inNode(b.broker.tcpPort), ...probes]));
    await waitFor('two clients (the FLM and flm-in)', () => b.broker.clients === 2);
    await helper.unload();
    await waitFor('flm-in gone', () => b.broker.clients === 1);
  } finally {
    await b.close();
  }
});
