import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { PipelineBroker, WARN_EVERY_MS, type ClientMessage } from '../../../core/broker/pipeline-broker';
import type { Refusal } from '../../../core/broker/embedded-broker';
import { ManualClock } from '../../support/clock';
import { waitFor } from '../../support/nodered';
import { publishAnonymously } from '../../support/mqtt-clients';

async function start(clock = new ManualClock(1_750_000_000_000)) {
  const refusals: Array<[Refusal, number]> = [];
  const out: ClientMessage[] = [];
  const b = await PipelineBroker.start(
    {
      host: '127.0.0.1',
      port: 0,
      wsPort: null,
      access: { mode: 'read-only-anonymous' },
      outFilters: ['homeassistant/status'],
      clock,
      onStatus: () => undefined,
      onRefusal: (r, n) => refusals.push([r, n]),
      onListenerError: (err) => assert.fail(err),
      onOut: (m) => out.push(m),
    },
    () => false,
  );
  assert.ok(b);
  return { b, clock, refusals, out, port: Number(/:(\d+)$/.exec(b.label)![1]) };
}

test('publish: retained by default, wildcards and missing topics refused with the reason', async () => {
  const { b, port } = await start();
  const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  try {
    await b.publish('/sensor/x/gauge', [1, 2, 'W'], {});
    await b.publish('/sensor/y/gauge', [1, 3, 'W'], { retain: false });
    const got: Array<[string, string, boolean]> = [];
    sub.on('message', (t, p, packet) => got.push([t, p.toString(), packet.retain]));
    await sub.subscribeAsync('/sensor/#');
    await waitFor('the retained reading', () => got.length === 1);
    assert.deepEqual(got, [['/sensor/x/gauge', '[1,2,"W"]', true]], 'only the retained one is replayed');
    await assert.rejects(b.publish('', 1, {}), /msg\.topic is required/);
    await assert.rejects(b.publish('/sensor/+/gauge', 1, {}), /cannot publish on a wildcard topic/);
    assert.match(b.status() ?? '', /^1 client · :\d+$/);
  } finally {
    await sub.endAsync(true);
    assert.equal(await b.close(2000), 0);
  }
});

test('refusals: one report per reason per interval on the clock, with the count; client birth messages come out', async () => {
  const { b, clock, refusals, out, port } = await start();
  const url = `mqtt://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 3; i++) assert.equal(await publishAnonymously(url, `/sensor/${i}/gauge`, '1'), true, 'refused');
    assert.match(b.status() ?? '', /3 refused$/);
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]![1], 1);
    clock.advance(WARN_EVERY_MS);
    await publishAnonymously(url, '/sensor/4/gauge', '1');
    assert.equal(refusals.length, 2);
    assert.equal(refusals[1]![1], 4, 'with the count so far');
    assert.equal(await publishAnonymously(url, 'homeassistant/status', 'online'), false);
    await waitFor('the birth message', () => out.length === 1);
    assert.deepEqual(
      { ...out[0], clientId: '' },
      { topic: 'homeassistant/status', payload: 'online', retain: false, qos: 1, clientId: '' },
    );
  } finally {
    await b.close(2000);
  }
});
