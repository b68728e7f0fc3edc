import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir, statuses, redeploy } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { FluksoTestServer } from '../support/flukso-server';
import type { FluksoBridgeBroker } from '../support/flukso-bridge-broker';
import { testPki, type TestPki } from '../support/tls';
import { lastStatusOf } from '../support/node-calls';

afterEach(async () => {
  await helper.unload();
});

const WRONG_KEY = '0123456789abcdef0123456789abcdef';
const SIDS = HOUSEHOLD_SENSORS.map((s) => s.id!);
const NOW = Math.floor(Date.now() / 1000);
const BID = 1750507008;
const BLOCK = gzipSync(Buffer.from(`{"h":{"head":[${BID},5],"tail":[${BID},5],"vsn":1,"cfg":{}},"t":[0],"v":[0]}`));
const blockTopic = (s: string, bid = BID) => `/sensor/${s}/tmpo/0/8/${bid}/gz`;

function flow(dataDir: string, upload: Record<string, unknown>) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    {
      id: 'up',
      type: 'flm-upload',
      device: 'dev',
      interval: '1',
      filters: 'off',
      heartbeat: 'off',
      wires: [['out']],
      ...upload,
    },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}
const creds = (key = DEVICE_KEY) => ({ dev: { deviceKey: key } });

interface Rig {
  server: FluksoTestServer;
  broker: FluksoBridgeBroker;
  pki: TestPki;
  dir: string;
  bridgeSettings: Record<string, unknown>;
}

async function withBridge(
  opts: { requireMqtt31?: boolean; syncOnConnect?: boolean },
  fn: (r: Rig) => Promise<void>,
): Promise<void> {
  const pki = await testPki();
  const server = await FluksoTestServer.start({ devices: [{ id: DEVICE_ID, key: DEVICE_KEY, sensors: SIDS }] });
  const broker = await server.startBridge({
    cert: pki.serverCert,
    key: pki.serverKey,
    requireMqtt31: opts.requireMqtt31 ?? true,
    syncOnConnect: opts.syncOnConnect ?? true,
  });
  try {
    await withDataDir((dir) =>
      fn({
        server,
        broker,
        pki,
        dir,
        bridgeSettings: { bridgeHost: '127.0.0.1', bridgePort: String(broker.port), ca: pki.caPem },
      }),
    );
  } finally {
    await helper.unload();
    await server.close();
  }
}

const lastStatus = (id: string) => lastStatusOf(helper.getNode(id));

test("flm-upload (both): counters by HTTP; TMPO blocks, the sync request and the sensor table over the TLS bridge with MQTT 3.1; the server's sync reply leaves on the output", async () => {
  await withBridge({}, async ({ server, broker, dir, bridgeSettings }) => {
    await helper.load(flmNodes, flow(dir, { serverUrl: server.url, ways: 'both', ...bridgeSettings }), creds());
    const up = helper.getNode('up');
    const out = collect('out');
    const caught = collect('caught');
    const reply = await waitFor('the pushed sync reply on the output', () =>
      out.find((m) => m.topic === `/d/device/${DEVICE_ID}/tmpo/sync`),
    );
    assert.deepEqual(
      JSON.parse(reply.payload),
      SIDS.map((s) => ({ sid: s, rid: 0, lvl: 0, bid: 0 })),
    );
    assert.deepEqual(
      [broker.connects[0]!.protocolId, broker.connects[0]!.protocolVersion, broker.connects[0]!.username],
      ['MQIsdp', 3, DEVICE_ID],
    );

    up.receive({
      topic: `/device/${DEVICE_ID}/config/sensor`,
      payload: { 1: { id: sid(1), enable: 1 } },
      retain: true,
      qos: 0,
    });
    up.receive({ topic: blockTopic(sid(1)), payload: BLOCK, retain: false, qos: 0 });
    up.receive({ topic: `/sensor/${sid(1)}/counter`, payload: [NOW - 10, 1000, 'Wh'] });
    up.receive({ topic: `/sensor/${sid(1)}/gauge`, payload: [NOW - 10, 300, 'W'] });
    up.receive({ topic: `/device/${DEVICE_ID}/tmpo/sync`, payload: '' });
    await waitFor('the block at the server', () => broker.blocks.has(`${sid(1)}/0/8/${BID}`));
    assert.ok(broker.blocks.get(`${sid(1)}/0/8/${BID}`)!.bytes.equals(BLOCK));
    assert.deepEqual(broker.configs.get(`/device/${DEVICE_ID}/config/sensor`), { 1: { id: sid(1), enable: 1 } });
    assert.equal(broker.received.find((r) => r.topic.endsWith('/config/sensor'))!.retain, true);
    await waitFor('the counter by HTTP', () => server.count(sid(1)) === 1, 15_000);
    assert.ok(!broker.received.some((r) => /\/(gauge|counter)$/.test(r.topic)), 'live readings are not bridged');
    const second = await waitFor(
      'the answer to the sync request',
      () => out.filter((m) => m.topic === `/d/device/${DEVICE_ID}/tmpo/sync`)[1],
    );
    assert.deepEqual(JSON.parse(second.payload)[0], { sid: sid(1), rid: 0, lvl: 8, bid: BID });
    await waitFor(
      'green with both parts',
      () => lastStatus('up').fill === 'green' && /^0 queued · ok \d\d:\d\d · bridge up$/.test(lastStatus('up').text),
    );
    assert.deepEqual(caught, []);
    assert.ok(!out.some((m) => m.topic === 'tmpo/sync'), 'the server answered by itself: no sync request needed');
  });
});

test('flm-upload (bridge): a wrong device key is refused: red "bridge refused", nothing delivered, no HTTP', async () => {
  await withBridge({}, async ({ server, broker, dir, bridgeSettings }) => {
    await helper.load(
      flmNodes,
      flow(dir, { serverUrl: server.url, ways: 'bridge', ...bridgeSettings }),
      creds(WRONG_KEY),
    );
    const up = helper.getNode('up');
    const warnings: string[] = [];
    up.on('call:warn', (call: any) => warnings.push(String(call.args[0])));
    const st = statuses('up');
    const red = await waitFor('red status', () => st.find((s) => s.fill === 'red'), 15_000);
    assert.match(red.text ?? '', /^bridge refused: the server refused the device id and key/);
    up.receive({ topic: `/sensor/${sid(1)}/counter`, payload: [NOW, 5, 'Wh'] });
    up.receive({ topic: blockTopic(sid(2)), payload: BLOCK });
    await waitFor('a warning that names the cause', () => warnings.some((w) => /device id or key/.test(w)));
    assert.deepEqual(broker.received, []);
    assert.equal(server.stats.requests, 0, 'ways: bridge, so no HTTP');
    assert.equal(up.error.called, false);
  });
});

test("flm-upload (bridge): a CA that did not sign the server's certificate is refused (red); the right CA given as a file path connects", async () => {
  await withBridge({}, async ({ broker, pki, dir, bridgeSettings }) => {
    await helper.load(flmNodes, flow(dir, { ways: 'bridge', ...bridgeSettings, ca: pki.otherCaFile }), creds());
    const st = statuses('up');
    const red = await waitFor('red status', () => st.find((s) => s.fill === 'red'), 15_000);
    assert.match(red.text ?? '', /^bridge refused: .*certificate/);
    assert.deepEqual(broker.connects, [], 'no MQTT spoken');
    await helper.unload();

    await helper.load(flmNodes, flow(dir, { ways: 'bridge', ...bridgeSettings, ca: pki.caFile }), creds());
    await waitFor('green', () => lastStatus('up').fill === 'green' && lastStatus('up').text === 'bridge up', 15_000);
  });
});

test('flm-upload (bridge): MQTT 3.1.1 against a server that speaks 3.1 only is refused (red); a missing CA file is a red start-up error', async () => {
  await withBridge({ requireMqtt31: true }, async ({ broker, dir, bridgeSettings }) => {
    await helper.load(flmNodes, flow(dir, { ways: 'bridge', ...bridgeSettings, mqttVersion: '3.1.1' }), creds());
    const st = statuses('up');
    const red = await waitFor('red status', () => st.find((s) => s.fill === 'red'), 15_000);
    assert.match(red.text ?? '', /^bridge refused: the server refused the MQTT version/);
    assert.equal(broker.connects[0]!.returnCode, 1);
    await helper.unload();

    await helper.load(
      flmNodes,
      flow(dir, { ways: 'bridge', ...bridgeSettings, ca: '/nonexistent/flukso.ca.crt' }),
      creds(),
    );
    const up = helper.getNode('up');
    await waitFor('red start-up error', () => lastStatus('up').fill === 'red');
    assert.match(lastStatus('up').text, /cannot read the CA file/);
    assert.ok(up.error.called);
  });
});

test('flm-upload (bridge): down, TMPO is left to the sync and the sensor table waits; back up, it asks flm-tmpo for a sync when the server does not answer by itself', async () => {
  await withBridge({ syncOnConnect: false }, async ({ broker, dir, bridgeSettings }) => {
    await helper.load(flmNodes, flow(dir, { ways: 'bridge', ...bridgeSettings }), creds());
    const up = helper.getNode('up');
    const out = collect('out');
    await waitFor('a sync request after the connect', () => out.find((m) => m.topic === 'tmpo/sync'), 15_000);
    await broker.down();
    await waitFor(
      'yellow while down',
      () => lastStatus('up').fill === 'yellow' && /^bridge down: /.test(lastStatus('up').text),
      15_000,
    );
    up.receive({ topic: blockTopic(sid(3)), payload: BLOCK });
    up.receive({ topic: `/device/${DEVICE_ID}/config/sensor`, payload: { v: 2 }, retain: true });
    await broker.up();
    await waitFor(
      'a second sync request after the reconnect',
      () => out.filter((m) => m.topic === 'tmpo/sync').length === 2,
      20_000,
    );
    await waitFor('the sensor table sent on the connect', () =>
      broker.configs.get(`/device/${DEVICE_ID}/config/sensor`),
    );
    assert.equal(
      broker.blocks.size,
      0,
      'the block made while down was not buffered: flm-tmpo re-publishes it after the sync',
    );
    await waitFor('green', () => lastStatus('up').fill === 'green');
    assert.equal(up.error.called, false);
  });
});

test('flm-upload: ways http (the default) leaves TMPO and sync messages alone, and a bad "ways" is a red start-up error', async () => {
  await withBridge({}, async ({ server, broker, dir, bridgeSettings }) => {
    await helper.load(flmNodes, flow(dir, { serverUrl: server.url, ...bridgeSettings }), creds());
    const up = helper.getNode('up');
    const out = collect('out');
    const caught = collect('caught');
    up.receive({ topic: blockTopic(sid(1)), payload: BLOCK });
    up.receive({ topic: `/device/${DEVICE_ID}/tmpo/sync`, payload: '' });
    up.receive({ topic: `/sensor/${sid(1)}/counter`, payload: [NOW, 7, 'Wh'] });
    await waitFor('the counter by HTTP', () => server.count(sid(1)) === 1, 15_000);
    assert.deepEqual(broker.connects, []);
    assert.deepEqual(out, []);
    assert.deepEqual(caught, []);
    assert.match(lastStatus('up').text, /^\d+ queued/);
    await helper.unload();

    await helper.load(flmNodes, flow(dir, { serverUrl: server.url, ways: 'ftp' }), creds());
    await waitFor('red', () => lastStatus('up').fill === 'red');
    assert.match(lastStatus('up').text, /ways: "ftp" is not http, bridge or both/);
  });
});

test('flm-upload (bridge): 100 redeploys: each connects once, none stays connected, no growth in open handles', async () => {
  await withBridge({}, async ({ broker, dir, bridgeSettings }) => {
    const f = flow(dir, { ways: 'bridge', ...bridgeSettings });
    await helper.load(flmNodes, f, creds());
    const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate').length;
    let baseline = -1;
    for (let i = 0; i < 100; i++) {
      await redeploy(f, 'full', creds());
      await waitFor(`bridge up after deploy ${i}`, () => lastStatus('up').text === 'bridge up', 15_000);
      assert.equal(helper.getNode('up').error.called, false);
      if (i === 10) baseline = handles();
    }
    await waitFor('one client at the server', () => broker.connected === 1);
    assert.ok(broker.connects.length >= 100 && broker.connects.length <= 102, `${broker.connects.length} connects`);
    const after = handles();
    assert.ok(after <= baseline + 2, `open handles grew from ${baseline} to ${after}`);
    await helper.unload();
    await waitFor('no client left after the last close', () => broker.connected === 0);
  });
});
