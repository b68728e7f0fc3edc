/**
 * `npm start`'s broker against forgeries, and Home Assistant's birth message through it. A busy
 * websocket port under `npm start` is refused before Node-RED starts (npm-start-ports.test.ts); the
 * node itself surviving a busy port is listener-errors.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import mqtt from 'mqtt';
import { waitFor } from '../support/nodered';
import { collectLines } from '../support/processes';
import { startPipeline } from '../support/start-pipeline';
import { untilListening } from '../support/net';
import { subscriber } from '../support/mqtt-clients';

const DEVICE_ID = '00112233445566778899aabbccddeeff';

/** The first message a fresh subscription to `topic` gets: the retained one. */
async function retainedOn(port: number, topic: string): Promise<string> {
  const r = await collectLines(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(port), '-C', '1', '-t', topic],
    1,
    10_000,
  );
  assert.equal(r.lines.length, 1, `a retained message on ${topic}`);
  return r.lines[0]!;
}

test("npm start: the default flow's broker refuses forged retained messages on the pipeline topics, and re-announces every HA config on HA's birth message", async () => {
  const p = await startPipeline({ FLM_DEVICE_ID: DEVICE_ID });
  try {
    await untilListening(p.mqttPort, p.run.output);
    const url = `mqtt://127.0.0.1:${p.mqttPort}`;
    // Play HA: take what the pipeline announced, until its availability says online (sent after the configs).
    const ha = await subscriber(url, ['homeassistant/#', 'flm/#', '/device/#']);
    await waitFor(
      'availability online',
      () => ha.got.find((m) => m.topic === `flm/${DEVICE_ID}/availability` && m.payload === 'online'),
      30_000,
    );
    await waitFor(
      'the sensor table',
      () => ha.got.find((m) => m.topic === `/device/${DEVICE_ID}/config/sensor`),
      30_000,
    );
    const configs = new Set(
      ha.got.filter((m) => m.topic.startsWith('homeassistant/sensor/') && m.payload !== '').map((m) => m.topic),
    );
    assert.ok(configs.size >= 4, `${configs.size} configs announced`);
    const table = JSON.parse(ha.got.find((m) => m.topic === `/device/${DEVICE_ID}/config/sensor`)!.payload) as Record<
      string,
      { id: string }
    >;
    const mainSid = table['1']!.id;

    // The attack as it was made: anonymous retained forgeries with mosquitto_pub.
    const forged = [
      [`/sensor/${mainSid}/counter`, '[1700000000,99999999,"Wh"]'],
      [`/device/${DEVICE_ID}/config/sensor`, '{"1":{"id":"forged","enable":1}}'],
      [[...configs][0]!, '{"name":"forged"}'],
      [`flm/${DEVICE_ID}/availability`, 'offline'],
    ] as const;
    for (const [topic, payload] of forged) {
      spawnSync(
        'mosquitto_pub',
        ['-h', '127.0.0.1', '-p', String(p.mqttPort), '-r', '-q', '1', '-t', topic, '-m', payload],
        { timeout: 10_000 },
      );
    }
    for (const [topic, payload] of forged) {
      assert.notEqual(await retainedOn(p.mqttPort, topic), payload, `the retained ${topic} is still the pipeline's`);
      assert.equal(
        ha.got.filter((m) => m.payload === payload).length,
        0,
        `the forgery on ${topic} reached no subscriber`,
      );
    }

    // HA restarts: its birth message makes every config go out again, live (not stale retained ones).
    const live = collectLines(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(p.mqttPort), '-R', '-v', '-t', 'homeassistant/sensor/#'],
      configs.size,
      30_000,
    );
    const birth = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'home-assistant' });
    let done = false;
    void live.finally(() => (done = true));
    // mosquitto_sub says nothing when its subscription is in place: HA's birth goes out until the configs come.
    for (let i = 0; i < 60 && !done; i++) {
      await birth.publishAsync('homeassistant/status', 'online', { qos: 1 });
      await Promise.race([live, new Promise((r) => setTimeout(r, 500))]);
    }
    const seen = new Set((await live).lines.map((l) => l.slice(0, l.indexOf(' '))));
    assert.deepEqual([...seen].sort(), [...configs].sort(), 'every config appeared again on the wire');
    await Promise.all([birth.endAsync(), ha.client.endAsync()]);
  } finally {
    await p.run.stop();
    await p.dir.remove();
  }
});
