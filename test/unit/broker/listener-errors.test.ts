import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../../core/broker/embedded-broker';
import { freePort } from '../../support/nodered';

test('a listener error after start (out of file descriptors on accept) is an event, not an exception; the broker keeps serving', async () => {
  const b = await EmbeddedBroker.start({
    host: '127.0.0.1',
    port: 0,
    wsPort: await freePort(),
    access: { mode: 'open' },
  });
  try {
    const reported: string[] = [];
    b.on('listenerError', (err: Error) => reported.push(err.message));
    const servers = b as unknown as { tcp: Server; http: Server };
    // What node:net emits when accept() fails; with no listener it would end the process.
    servers.tcp.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    servers.http.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    assert.deepEqual(reported, ['MQTT listener: accept EMFILE', 'MQTT websocket listener: accept EMFILE']);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.tcpPort}`, { reconnectPeriod: 0 });
    await c.endAsync();
  } finally {
    await b.close();
  }
});
