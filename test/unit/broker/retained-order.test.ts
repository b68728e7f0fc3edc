import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../../core/broker/embedded-broker';
import { topicMatches } from '../../../core/broker/topic-filter';

test('topic filters: + one level, # the rest, wildcards skip $-topics', () => {
  assert.equal(topicMatches('/sensor/#', '/sensor/a/counter'), true);
  assert.equal(topicMatches('/sensor/+/counter', '/sensor/a/counter'), true);
  assert.equal(topicMatches('/sensor/+/counter', '/sensor/a/gauge'), false);
  assert.equal(topicMatches('/sensor/+', '/sensor/a/counter'), false);
  assert.equal(topicMatches('#', '$SYS/x'), false);
  assert.equal(topicMatches('a/b', 'a/b'), true);
  assert.equal(topicMatches('a/b/#', 'a/b'), true);
});

test(
  'subscribers that join while retained counters are being replaced never get an older value after a newer one',
  { timeout: 60_000 },
  async () => {
    const broker = await EmbeddedBroker.start({ host: '127.0.0.1', port: 0, wsPort: null, access: { mode: 'open' } });
    const TOPICS = 40;
    const SUBSCRIBERS = 30;
    let value = 0;
    let publishing = true;
    // Every topic gets a higher value each round, retained, as flm-sensor publishes counters.
    const publisher = (async () => {
      while (publishing) {
        value++;
        await Promise.all(
          Array.from({ length: TOPICS }, (_, i) =>
            broker.publish(`/sensor/s${i}/counter`, JSON.stringify([value, value, 'Wh']), { retain: true, qos: 0 }),
          ),
        );
        await new Promise((r) => setImmediate(r));
      }
    })();
    const backwards: string[] = [];
    try {
      for (let n = 0; n < SUBSCRIBERS; n++) {
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcpPort}`, { reconnectPeriod: 0 });
        const last = new Map<string, number>();
        let got = 0;
        c.on('message', (topic, payload) => {
          got++;
          const v = (JSON.parse(payload.toString()) as number[])[1]!;
          if (v < (last.get(topic) ?? -Infinity))
            backwards.push(`subscriber ${n} ${topic}: ${last.get(topic)} then ${v}`);
          last.set(topic, Math.max(v, last.get(topic) ?? -Infinity));
        });
        await c.subscribeAsync('/sensor/#');
        const deadline = Date.now() + 10_000;
        while (got < TOPICS * 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        await c.endAsync();
      }
    } finally {
      publishing = false;
      await publisher;
      await broker.close(2000);
    }
    assert.deepEqual(backwards.slice(0, 5), [], `${backwards.length} values went backwards`);
  },
);
