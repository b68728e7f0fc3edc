import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, collect, statuses, freePort, redeploy } from '../support/nodered';

afterEach(async () => {
  await helper.unload();
});

const brokerFlow = (port: number, extra: Record<string, unknown> = {}) =>
  onTab([
    { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(port), wsPort: '', access: 'open', ...extra },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);

async function subscribe(
  port: number,
  topic: string,
): Promise<{ client: mqtt.MqttClient; got: Array<{ topic: string; payload: string; retain: boolean }> }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
  client.on('message', (t, p, packet) => got.push({ topic: t, payload: p.toString(), retain: packet.retain }));
  await client.subscribeAsync(topic);
  return { client, got };
}

test('flm-broker publishes readings retained, in exact FLM form', async () => {
  const port = await freePort();
  await helper.load(flmNodes, brokerFlow(port));
  const st = statuses('broker');
  const b = helper.getNode('broker');
  const topic = `/sensor/${'a'.repeat(32)}/gauge`;
  b.receive({ topic, payload: [1459065180, 157, 'W'], retain: true });
  b.receive({ topic: `/sensor/${'a'.repeat(32)}/counter`, payload: [1459065180, 0.1 + 0.2, 'Wh'] });
  await waitFor('green status', () => st.find((s) => s.fill === 'green'));
  const { client, got } = await subscribe(port, '/sensor/#');
  try {
    await waitFor('two retained messages', () => got.length === 2);
    assert.deepEqual(
      got.find((m) => m.topic === topic),
      { topic, payload: '[1459065180,157,"W"]', retain: true },
    );
    assert.equal(got.find((m) => m.topic.endsWith('/counter'))!.payload, '[1459065180,0.3,"Wh"]');
    await waitFor('status counts the client', () =>
      st.find((s) => new RegExp(`^1 client · :${port}$`).test(s.text ?? '')),
    );
  } finally {
    await client.endAsync();
  }
});

test('flm-broker: a port already in use gives a red status and a clear error, not a crash', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    await helper.load(flmNodes, brokerFlow(port));
    const b = helper.getNode('broker');
    await waitFor(
      'the error',
      () => b.error.calledWithMatch(`MQTT port ${port} on 127.0.0.1 is already in use`) || undefined,
    );
    assert.ok(b.status.calledWithMatch({ fill: 'red' }));
    const caught = collect('caught');
    b.receive({ topic: 'x', payload: 'y' });
    const c = await waitFor('input error', () => caught[0]);
    assert.match(c.error.message, /already in use/);
  } finally {
    blocker.close();
  }
});

test('flm-broker: bad input messages are errors at Catch', async () => {
  const port = await freePort();
  await helper.load(flmNodes, brokerFlow(port));
  const caught = collect('caught');
  const b = helper.getNode('broker');
  b.receive({ payload: 1 });
  b.receive({ topic: '/sensor/+/gauge', payload: 1 });
  b.receive({ topic: `/sensor/${'a'.repeat(32)}/gauge`, payload: [1.5, 1, 'W'] });
  await waitFor('three errors', () => caught.length === 3);
  const texts = caught.map((c) => c.error.message).join('\n');
  assert.match(texts, /msg\.topic is required/);
  assert.match(texts, /cannot publish on a wildcard topic/);
  assert.match(texts, /bad payload for .*whole Unix seconds/);
});

test('flm-broker: anonymous clients may only read /sensor/ when the mode says so; logged-in clients may publish', async () => {
  const port = await freePort();
  await helper.load(flmNodes, brokerFlow(port, { access: 'read-only-anonymous' }), {
    broker: { username: 'flm', password: 's3cret' },
  });
  const b = helper.getNode('broker');
  await waitFor('listening', () => b.status.calledWithMatch({ fill: 'green' }) || undefined);
  const { client: reader, got } = await subscribe(port, '#');
  const anon = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const closed = new Promise<void>((r) => anon.once('close', () => r()));
  anon.publish(`/sensor/${'b'.repeat(32)}/gauge`, '[1,666,"W"]');
  await closed;
  assert.ok(b.warn.calledWithMatch(/may not publish on \/sensor\/b{32}\/gauge/));
  const user = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    username: 'flm',
    password: 's3cret',
  });
  await user.publishAsync(`/sensor/${'c'.repeat(32)}/gauge`, '[1,42,"W"]');
  await waitFor('the logged-in publish', () => got.find((m) => m.topic.startsWith(`/sensor/${'c'.repeat(32)}`)));
  assert.equal(got.filter((m) => m.payload.includes('666')).length, 0, 'the anonymous publish never arrived');
  await assert.rejects(
    mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, username: 'flm', password: 'nope' }),
    /Bad username or password/i,
  );
  await Promise.all([user.endAsync(), reader.endAsync(), anon.endAsync(true)]);
});

test('flm-broker: login required refuses anonymous clients', async () => {
  const port = await freePort();
  await helper.load(flmNodes, brokerFlow(port, { access: 'authenticated' }), {
    broker: { username: 'flm', password: 'pw' },
  });
  const b = helper.getNode('broker');
  await waitFor('listening', () => b.status.calledWithMatch({ fill: 'green' }) || undefined);
  await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 }), /Not authorized/i);
  const ok = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    username: 'flm',
    password: 'pw',
  });
  await ok.endAsync();
});

test('flm-broker: 100 redeploys on the same ports: no EADDRINUSE, no growth in open handles', async () => {
  const port = await freePort();
  const wsPort = await freePort();
  const flow = brokerFlow(port, { wsPort: String(wsPort) });
  await helper.load(flmNodes, flow);
  const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout' && r !== 'Immediate').length;
  let baseline = -1;
  for (let i = 0; i < 100; i++) {
    await redeploy(flow, 'full');
    const b = helper.getNode('broker');
    await waitFor(
      `broker up after deploy ${i}`,
      () => b.status.calledWithMatch({ fill: 'green' }) || (b.error.called && b.error.firstCall.args[0]),
    );
    assert.equal(b.error.called, false, `deploy ${i}: ${b.error.called ? b.error.firstCall.args[0] : ''}`);
    if (i % 20 === 0) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      await c.endAsync();
    }
    if (i === 10) baseline = handles();
  }
  const after = handles();
  assert.ok(after <= baseline + 2, `open handles grew from ${baseline} to ${after}`);
});

test('flm-broker: stopping with a backlog drains what it can and reports the rest once, not per message', async () => {
  const port = await freePort();
  await helper.load(flmNodes, brokerFlow(port));
  const b = helper.getNode('broker');
  await waitFor('listening', () => b.status.calledWithMatch({ fill: 'green' }) || undefined);
  const { client, got } = await subscribe(port, '/sensor/#');
  // The helper restores its spies on unload: keep our own record of what the node logged.
  const errors: string[] = [];
  const warnings: string[] = [];
  b.on('call:error', (c: any) => errors.push(String(c.args[0])));
  b.on('call:warn', (c: any) => warnings.push(String(c.args[0])));
  for (let i = 0; i < 20_000; i++)
    b.receive({ topic: `/sensor/${'d'.repeat(32)}/gauge`, payload: [1700000000 + i, i, 'W'] });
  await helper.unload();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(errors, []);
  assert.ok(warnings.length <= 1, `warned ${warnings.length} times`);
  for (const w of warnings) assert.match(w, /^\d+ messages were not published: the broker was stopping$/);
  assert.ok(got.length > 0, 'the subscriber got the first messages');
  await client.endAsync(true);
});
