import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../../core/broker/embedded-broker';
import { ImportClient, type ImportEvent } from '../../../core/mqtt/import-client';
import { checkBrokerUrl } from '../../../core/mqtt/connection';
import { buildDeviceConfig } from '../../../core/mqtt/device-config';
import { ManualClock } from '../../support/clock';
import { waitFor, freePort } from '../../support/nodered';
import { DEVICE_ID, device, sid } from '../../support/device';

const T = 1_750_000_000;
const GRACE_MS = 5000;

/** A real broker on loopback, an FLM publishing into it, and flm-in's client on a manual clock. */
async function setup(
  access: { mode: 'open' } | { mode: 'authenticated'; username: string; password: string } = { mode: 'open' },
  login: { username?: string; password?: string } = {},
) {
  const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, wsPort: null, access });
  const flmLogin = access.mode === 'authenticated' ? { username: access.username, password: access.password } : {};
  const flm = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, {
    reconnectPeriod: 0,
    clientId: 'fluksod',
    ...flmLogin,
  });
  const clock = new ManualClock(T * 1000);
  const events: ImportEvent[] = [];
  let statusCalls = 0;
  const client = new ImportClient({
    url: checkBrokerUrl(`mqtt://127.0.0.1:${broker.tcpPort}`),
    clientId: 'flm-in-test',
    reconnectMs: 200,
    ...login,
    clock,
    graceMs: GRACE_MS,
    retained: 'skip',
    onEvent: (e) => events.push(e),
    onStatus: () => statusCalls++,
  });
  const readings = () => events.flatMap((e) => (e.kind === 'readings' ? e.list : []));
  return {
    broker,
    flm,
    clock,
    client,
    events,
    readings,
    statusCalls: () => statusCalls,
    async close() {
      await client.close(1000);
      await flm.endAsync(true);
      await broker.close(2000);
    },
  };
}

test('checkBrokerUrl takes mqtt:// and mqtts:// and says what else is wrong', () => {
  assert.equal(checkBrokerUrl('mqtts://flm.local:8883').host, 'flm.local:8883');
  assert.throws(() => checkBrokerUrl('flm.local'), /is not a URL/);
  assert.throws(() => checkBrokerUrl('http://flm.local'), /must start with mqtt:\/\/ or mqtts:\/\/, got http:\/\//);
});

test('a reading of a sensor no table names waits the grace period on the clock; the table releases it with its name', async () => {
  const s = await setup();
  try {
    await waitFor('connected', () => s.client.connection.connected);
    assert.deepEqual(
      s.events.filter((e) => e.kind === 'connected'),
      [{ kind: 'connected', first: true }],
    );
    await waitFor('subscribed', () => s.broker.clients === 2);
    // The subscription is in place once a probe reading comes back (a sensor of no table: held).
    await s.flm.publishAsync(`/sensor/${sid(9)}/gauge`, `[${T},5,"W"]`);
    await waitFor('the reading held', () => s.client.importer.heldCount === 1);
    await s.flm.publishAsync(`/sensor/${sid(1)}/gauge`, `[${T},230,"W"]`);
    await waitFor('the second held', () => s.client.importer.heldCount === 2);
    assert.deepEqual(s.readings(), []);
    await s.flm.publishAsync(`/device/${DEVICE_ID}/config/sensor`, JSON.stringify(buildDeviceConfig(device())));
    await waitFor('the table', () => s.events.some((e) => e.kind === 'config'));
    await waitFor('released by the table', () => s.readings().length === 1);
    assert.equal(s.readings()[0]!.flm.name, 'main');
    s.clock.advance(GRACE_MS - 1);
    assert.equal(s.readings().length, 1, 'the unknown sensor still waits');
    s.clock.advance(1);
    assert.equal(s.readings().length, 2, 'released when the grace period ends');
    assert.equal(s.readings()[1]!.flm.name, undefined);
    await s.flm.publishAsync(`/sensor/${sid(1)}/gauge`, 'nonsense');
    await waitFor('a reject', () => s.events.some((e) => e.kind === 'rejected'));
    assert.match(s.client.status(1).text, /^connected · 4 sensors · 2 readings · 1 rejects$/);
  } finally {
    await s.close();
  }
  assert.equal(s.clock.timers, 0, 'no timer left');
});

test('a refused login is an error status and a refused event', async () => {
  const s = await setup(
    { mode: 'authenticated', username: 'flm', password: 'right' },
    { username: 'flm', password: 'wrong' },
  );
  try {
    await waitFor('refused', () => s.client.connection.refused !== '');
    assert.equal(s.client.status(0).level, 'error');
    assert.match(s.client.status(0).text, /^broker refused: /);
    assert.deepEqual(
      s.events.filter((e) => e.kind === 'refused').map((e) => e.kind),
      ['refused'],
    );
  } finally {
    await s.close();
  }
});

test('a broker that goes away shows disconnected with the trouble, and the client comes back when it returns', async () => {
  const port = await freePort();
  const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port, wsPort: null, access: { mode: 'open' } });
  const clock = new ManualClock(T * 1000);
  const events: ImportEvent[] = [];
  const client = new ImportClient({
    url: checkBrokerUrl(`mqtt://127.0.0.1:${port}`),
    clientId: 'flm-in-test',
    reconnectMs: 100,
    clock,
    graceMs: GRACE_MS,
    retained: 'skip',
    onEvent: (e) => events.push(e),
    onStatus: () => undefined,
  });
  let again: EmbeddedBroker | undefined;
  try {
    await waitFor('connected', () => client.connection.connected);
    await broker.close(2000);
    await waitFor('disconnected', () => events.some((e) => e.kind === 'disconnected'));
    await waitFor('the trouble named', () => client.connection.lastTrouble !== '');
    assert.equal(client.status(0).level, 'warn');
    assert.match(client.status(0).text, /^disconnected \(.+\) · 0 sensors · 0 readings$/);
    again = await EmbeddedBroker.start({ host: '127.0.0.1', port, wsPort: null, access: { mode: 'open' } });
    await waitFor('connected again', () => client.connection.connected, 15_000);
    assert.deepEqual(
      events.filter((e) => e.kind === 'connected').map((e) => (e as { first: boolean }).first),
      [true, false],
    );
  } finally {
    await client.close(1000);
    await again?.close(2000);
  }
});
