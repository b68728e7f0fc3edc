import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import { wsStatus } from '../support/ws-open';
import { helper, flmNodes, onTab, waitFor, collect, freePort } from '../support/nodered';
import { subscriber, publishAnonymously } from '../support/mqtt-clients';
import { portOpen } from '../support/net';
import { repoRoot } from '../support/paths';
import { errorsOf, lastStatusOf, warningsOf } from '../support/node-calls';

afterEach(async () => {
  await helper.unload();
});

const SID = 'a'.repeat(32);
const DID = 'b'.repeat(32);
/** The pipeline's topics, each with what the pipeline retains there and a forgery. */
const PIPELINE_TOPICS = [
  {
    topic: `/sensor/${SID}/counter`,
    real: [1700000000, 1234, 'Wh'],
    wire: '[1700000000,1234,"Wh"]',
    forged: '[1700000001,99999999,"Wh"]',
  },
  {
    topic: `/device/${DID}/config/sensor`,
    real: { 1: { id: SID, enable: 1 } },
    wire: `{"1":{"id":"${SID}","enable":1}}`,
    forged: '{"1":{"id":"f","enable":1}}',
  },
  {
    topic: `homeassistant/sensor/${DID}/${SID}_counter/config`,
    real: '{"name":"main"}',
    wire: '{"name":"main"}',
    forged: '{"name":"forged","state_topic":"x"}',
  },
  { topic: `flm/${DID}/availability`, real: 'online', wire: 'online', forged: 'offline' },
];

/** The broker node as the default flow (flows/flm.json) has it, on test ports. */
function defaultFlowBroker(port: number, wsPort: number | ''): Record<string, unknown> {
  const flow = JSON.parse(readFileSync(join(repoRoot, 'flows', 'flm.json'), 'utf8')) as Array<Record<string, unknown>>;
  const { z: _tab, x: _x, y: _y, ...b } = flow.find((n) => n.type === 'flm-broker')!;
  return {
    ...b,
    id: 'broker',
    host: '127.0.0.1',
    port: String(port),
    wsPort: String(wsPort),
    haPrefix: 'homeassistant',
    wires: [['out']],
  };
}

const brokerFlow = (broker: Record<string, unknown>) =>
  onTab([
    broker,
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);

async function listening(): Promise<any> {
  const b = helper.getNode('broker');
  await waitFor('the broker listening', () => lastStatusOf(b).fill === 'green');
  return b;
}

const lastStatus = lastStatusOf;

for (const setup of ['the default flow', 'read-only-anonymous'] as const) {
  test(`${setup}: anonymous publishes on the pipeline's topics are refused; none reaches a subscriber or replaces the retained value`, async () => {
    const port = await freePort();
    const broker =
      setup === 'the default flow'
        ? defaultFlowBroker(port, '')
        : {
            id: 'broker',
            type: 'flm-broker',
            host: '127.0.0.1',
            port: String(port),
            wsPort: '',
            access: 'read-only-anonymous',
            wires: [['out']],
          };
    await helper.load(flmNodes, brokerFlow(broker));
    const b = await listening();
    const url = `mqtt://127.0.0.1:${port}`;
    for (const t of PIPELINE_TOPICS) b.receive({ topic: t.topic, payload: t.real, retain: true });
    const live = await subscriber(url, ['#']);
    try {
      await waitFor("the pipeline's retained messages", () => live.got.length >= PIPELINE_TOPICS.length);
      for (const t of PIPELINE_TOPICS) {
        for (const retain of [true, false]) {
          assert.equal(
            await publishAnonymously(url, t.topic, t.forged, { retain }),
            true,
            `${t.topic} (retain ${retain}) closed the connection`,
          );
        }
      }
      // Everything else stays writable, HA's birth message included.
      assert.equal(await publishAnonymously(url, 'homeassistant/status', 'online'), false);
      assert.equal(await publishAnonymously(url, 'home/kitchen/temperature', '21.5'), false);
      b.receive({ topic: 'test/sentinel', payload: 'after', retain: false });
      await waitFor('the sentinel', () => live.got.find((m) => m.topic === 'test/sentinel'));
      for (const t of PIPELINE_TOPICS)
        assert.equal(
          live.got.filter((m) => m.payload === t.forged).length,
          0,
          `no forgery on ${t.topic} reached a subscriber`,
        );
      assert.ok(live.got.find((m) => m.topic === 'homeassistant/status' && m.payload === 'online'));
      for (const t of PIPELINE_TOPICS) {
        const fresh = await subscriber(url, t.topic);
        const first = await waitFor(`the retained ${t.topic}`, () => fresh.got[0]);
        assert.deepEqual(first, { topic: t.topic, payload: t.wire, retain: true });
        await fresh.client.endAsync();
      }
      assert.match(lastStatus(b).text, / · 8 refused$/);
      assert.equal(warningsOf(b).length, 1, 'one warning a minute for the same kind of refusal');
      assert.match(warningsOf(b)[0]!, /may not publish on \/sensor\//);
    } finally {
      await live.client.endAsync();
    }
  });
}

test('flm-broker: a logged-in client publishes on the pipeline topics, unless the setting says no', async () => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const login = { username: 'flm', password: 's3cret', reconnectPeriod: 0 };
  for (const loginPublish of ['on', 'off']) {
    await helper.load(
      flmNodes,
      brokerFlow({
        id: 'broker',
        type: 'flm-broker',
        host: '127.0.0.1',
        port: String(port),
        wsPort: '',
        access: 'read-only-anonymous',
        loginPublish,
      }),
      { broker: { username: 'flm', password: 's3cret' } },
    );
    await listening();
    const user = await mqtt.connectAsync(url, login);
    const closed = new Promise<boolean>((r) => user.once('close', () => r(true)));
    const acked = user.publishAsync(`/sensor/${SID}/gauge`, '[1,2,"W"]', { qos: 1 }).then(() => false);
    assert.equal(await Promise.race([closed, acked]), loginPublish === 'off');
    await user.endAsync(true);
    await helper.unload();
  }
});

test('flm-broker: "login required" with an empty password is refused at deploy, red, and nothing listens', async () => {
  const port = await freePort();
  await helper.load(
    flmNodes,
    brokerFlow({
      id: 'broker',
      type: 'flm-broker',
      host: '127.0.0.1',
      port: String(port),
      wsPort: '',
      access: 'authenticated',
    }),
    { broker: { username: 'flm', password: '' } },
  );
  const b = helper.getNode('broker');
  await waitFor('the error', () => errorsOf(b).some((e) => /needs a username and password/.test(e)));
  assert.equal(lastStatusOf(b).fill, 'red');
  assert.equal(await portOpen(port), false);
  await assert.rejects(
    mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, username: 'flm', connectTimeout: 2000 }),
  );
});

test('flm-broker: an anonymous client cannot take over the client id of a logged-in client (0 of 5 tries)', async () => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  await helper.load(
    flmNodes,
    brokerFlow({
      id: 'broker',
      type: 'flm-broker',
      host: '127.0.0.1',
      port: String(port),
      wsPort: '',
      access: 'read-only-anonymous',
    }),
    { broker: { username: 'flm', password: 's3cret' } },
  );
  const b = await listening();
  const owner = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    clientId: 'home-assistant',
    username: 'flm',
    password: 's3cret',
  });
  let ownerClosed = false;
  owner.on('close', () => (ownerClosed = true));
  const got: string[] = [];
  owner.on('message', (_t, p) => got.push(p.toString()));
  await owner.subscribeAsync('test/#');
  let tookOver = 0;
  for (let i = 0; i < 5; i++) {
    try {
      const thief = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'home-assistant' });
      tookOver++;
      await thief.endAsync(true);
    } catch (err) {
      assert.match(String(err), /Identifier rejected/i);
    }
  }
  assert.equal(tookOver, 0);
  b.receive({ topic: 'test/still-there', payload: 'yes', retain: false });
  await waitFor('the owner still gets messages', () => got.includes('yes'));
  assert.equal(ownerClosed, false);
  assert.match(lastStatus(b).text, /5 refused/);
  // Another anonymous id is fine.
  const other = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'someone-else' });
  await other.endAsync();
  await owner.endAsync();
  // A logged-in client's persistent session (its subscriptions, its queued messages) stays its own while it is away.
  const away = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    clientId: 'openhab',
    clean: false,
    username: 'flm',
    password: 's3cret',
  });
  await away.endAsync();
  await assert.rejects(
    mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'openhab', clean: false }),
    /Identifier rejected/i,
  );
  const back = await mqtt.connectAsync(url, {
    reconnectPeriod: 0,
    clientId: 'openhab',
    clean: false,
    username: 'flm',
    password: 's3cret',
  });
  await back.endAsync();
});

test('flm-broker: anonymous clients may not read $SYS unless the setting allows it', async () => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  for (const anonSys of ['off', 'on']) {
    await helper.load(
      flmNodes,
      brokerFlow({
        id: 'broker',
        type: 'flm-broker',
        host: '127.0.0.1',
        port: String(port),
        wsPort: '',
        access: 'read-only-anonymous',
        anonSys,
      }),
      { broker: { username: 'flm', password: 's3cret' } },
    );
    await listening();
    const anon = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const granted = anon.subscribeAsync('$SYS/#');
    if (anonSys === 'on') assert.equal((await granted)[0]!.qos, 0);
    else await assert.rejects(granted, /Unspecified error/, 'SUBACK 128: refused');
    const user = await mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'flm', password: 's3cret' });
    assert.equal((await user.subscribeAsync('$SYS/#'))[0]!.qos, 0);
    await Promise.all([anon.endAsync(), user.endAsync()]);
    await helper.unload();
  }
});

/** Open a websocket with this Origin; resolves with the HTTP status of a refusal, or 101 when it opened. */
const wsOpen = (port: number, origin: string): Promise<number> =>
  wsStatus(`ws://127.0.0.1:${port}/mqtt`, 'mqtt', { origin });

test('flm-broker: a websocket from a foreign Origin is refused; pages from this host and MQTT clients without an Origin get in', async () => {
  const port = await freePort();
  const wsPort = await freePort();
  await helper.load(flmNodes, brokerFlow(defaultFlowBroker(port, wsPort)));
  const b = await listening();
  assert.equal(await wsOpen(wsPort, 'https://evil.example'), 401);
  assert.equal(await wsOpen(wsPort, 'http://rebind.attacker.example:1880'), 401);
  assert.equal(await wsOpen(wsPort, 'http://127.0.0.1:1880'), 101);
  assert.equal(await wsOpen(wsPort, 'http://localhost:8123'), 101);
  const c = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { reconnectPeriod: 0 });
  await c.endAsync();
  await waitFor('two refusals in the status', () => / · 2 refused$/.test(lastStatus(b).text) || undefined);
  assert.match(warningsOf(b).join('\n'), /websocket from https:\/\/evil\.example refused/);
});

test('flm-broker: connections past the limit are cut and counted', async () => {
  const port = await freePort();
  await helper.load(
    flmNodes,
    brokerFlow({
      id: 'broker',
      type: 'flm-broker',
      host: '127.0.0.1',
      port: String(port),
      wsPort: '',
      maxConnections: '3',
    }),
  );
  const b = await listening();
  const url = `mqtt://127.0.0.1:${port}`;
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await mqtt.connectAsync(url, { reconnectPeriod: 0 }));
  // The fourth connection is closed before it can say anything.
  const fourth = connect(port, '127.0.0.1');
  fourth.on('error', () => {});
  await new Promise((r) => fourth.once('close', r));
  await waitFor(
    'the refusal in the status',
    () => /^3 clients · :\d+ · 1 refused$/.test(lastStatus(b).text) || undefined,
  );
  await clients.pop()!.endAsync();
  await waitFor('a free slot', () => /^2 clients/.test(lastStatus(b).text) || undefined);
  clients.push(await mqtt.connectAsync(url, { reconnectPeriod: 0 }));
  await Promise.all(clients.map((c) => c.endAsync()));
});

test("flm-broker output: what clients publish on the output topics, nothing else, never the pipeline's own publishes", async () => {
  const port = await freePort();
  await helper.load(
    flmNodes,
    brokerFlow({
      id: 'broker',
      type: 'flm-broker',
      host: '127.0.0.1',
      port: String(port),
      wsPort: '',
      outTopics: 'homeassistant/status, p1/+/telegram',
      wires: [['out']],
    }),
  );
  const b = await listening();
  const out = collect('out');
  b.receive({ topic: 'homeassistant/status', payload: 'from the flow', retain: false });
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, clientId: 'ha' });
  await c.publishAsync('home/other', 'not for the output', { qos: 1 });
  await c.publishAsync('p1/1234/telegram', Buffer.from([0xff, 0x00]), { qos: 1 });
  await c.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await waitFor('two messages out', () => out.length === 2);
  assert.deepEqual(
    out.map((m) => [m.topic, m.payload, m.clientId]),
    [
      ['p1/1234/telegram', Buffer.from([0xff, 0x00]), 'ha'],
      ['homeassistant/status', 'online', 'ha'],
    ],
  );
  await c.endAsync();
});
