import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import {
  LOGIN,
  clusteredBroker,
  connectTo,
  knowsSubscription,
  redisForFile,
  until,
} from '../../support/clustered-brokers';

const redis = redisForFile();
import { StallProxy } from '../../support/stall-proxy';

// A persistent session coming back to an instance: CONNACK first, then its queue, then what is
// published meanwhile (core/broker/session-resume.ts). aedes re-subscribes the session before its
// CONNACK; instance B's Redis commands are held through a proxy right after that point, so a
// message published then is sure to reach B inside that window.

test('a returning persistent session gets CONNACK, then its queue, then what was published while it came back', async () => {
  const proxy = await StallProxy.start(redis.port);
  const a = await clusteredBroker(redis.url);
  const b = await clusteredBroker(proxy.url);
  try {
    const id = 'returning-1';
    const first = await connectTo(a, { clientId: id, clean: false, ...LOGIN });
    await first.subscribeAsync('ret/#', { qos: 1 });
    await first.endAsync(true);
    await until('the first instance to let the client go', () => a.aedes.connectedClients === 0);
    await until('the other instance to know the subscription', () => knowsSubscription(b, 'ret/n', id));
    const pub = await connectTo(a, LOGIN);
    for (let i = 0; i < 5; i++) await pub.publishAsync('ret/n', `queued ${i}`, { qos: 1 });

    // B re-subscribes the session, then removes its old will (the first command naming a will
    // key): from there B's store connection waits, inside the window before the CONNACK.
    proxy.holdFrom('will:');
    const seen: string[] = [];
    const back = mqtt.connect(`mqtt://127.0.0.1:${b.tcpPort}`, {
      clientId: id,
      clean: false,
      reconnectPeriod: 0,
      ...LOGIN,
    });
    back.on('packetreceive', (p) => {
      if (p.cmd === 'connack') seen.push('connack');
      if (p.cmd === 'publish') seen.push(p.payload.toString());
    });
    await until('B to reach the window before the CONNACK', () => proxy.heldText().includes(id));
    // QoS 0 goes out without touching the store, so nothing here holds it back but the fix.
    await pub.publishAsync('ret/n', 'live', { qos: 0 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seen, [], 'nothing before the CONNACK');
    proxy.release();
    await until(`everything (got ${seen.join(', ')})`, () => seen.length >= 7);
    assert.deepEqual(seen, ['connack', 'queued 0', 'queued 1', 'queued 2', 'queued 3', 'queued 4', 'live']);
    assert.equal(back.connected, true);
    await back.endAsync(true);
    await pub.endAsync(true);
  } finally {
    await a.close(3000);
    await b.close(3000);
    await proxy.close();
  }
});
