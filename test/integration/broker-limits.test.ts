import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { repoRoot } from '../support/paths';

const MB = 1024 * 1024;

/** rss: the process; live: JS heap and buffers in use, after a full collection */
interface Memory {
  rss: number;
  live: number;
  retained: { messages: number; bytes: number };
  stored: string[];
  refusals: Record<string, number>;
}

/** The embedded broker alone in a child process, so its memory is measured without ours. */
async function brokerChild(limits: Record<string, unknown> = {}) {
  const child: ChildProcess = fork(
    join(repoRoot, 'dist', 'test', 'support', 'children', 'broker.js'),
    [JSON.stringify(limits)],
    {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const next = <T>(): Promise<T> =>
    new Promise((resolve, reject) => {
      child.once('message', (m) => resolve(m as T));
      child.once('exit', (code) => reject(new Error(`broker child exited with ${code}`)));
    });
  const { port } = await next<{ port: number }>();
  return {
    port,
    memory: () => {
      const answer = next<Memory>();
      child.send({ cmd: 'memory' });
      return answer;
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ cmd: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** An MQTT 3.1.1 CONNECT for client id "big", clean session, keepalive 60 s. */
const CONNECT = Buffer.from([0x10, 15, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, 0, 3, 0x62, 0x69, 0x67]);

test('a client declaring a 256 MB packet and sending 200 MB is cut at the header; the broker grows by under 20 MB', async () => {
  const b = await brokerChild();
  try {
    // One ordinary client first, so the code a connection runs is loaded before the baseline.
    const warm = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`, { reconnectPeriod: 0 });
    await warm.publishAsync('warm/up', Buffer.alloc(64 * 1024), { qos: 1 });
    await warm.endAsync();
    const before = await b.memory();
    const socket: Socket = connect(b.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    socket.write(CONNECT);
    await new Promise((r) => socket.once('data', r)); // CONNACK
    let closed = false;
    socket.once('close', () => (closed = true));
    // PUBLISH declaring 268435455 bytes of remaining length, the most MQTT can say.
    socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
    const chunk = Buffer.alloc(MB, 0x41);
    let sent = 0;
    while (!closed && sent < 200) {
      if (!socket.write(chunk))
        await new Promise((r) => {
          socket.once('drain', r);
          socket.once('close', r);
        });
      sent++;
    }
    if (!closed) await new Promise((r) => socket.once('close', r));
    const after = await b.memory();
    const growth = (after.rss - before.rss) / MB;
    console.log(
      `256 MB declared: connection cut after ${sent} MB sent; broker RSS ${(before.rss / MB).toFixed(0)} -> ${(after.rss / MB).toFixed(0)} MB (+${growth.toFixed(1)} MB)`,
    );
    assert.ok(sent < 200, 'the broker closed the connection before the 200 MB were sent');
    assert.ok(growth < 20, `RSS grew by ${growth.toFixed(1)} MB`);
    assert.equal(after.refusals['packet-size'], 1);
  } finally {
    await b.stop();
  }
});

test('500 retained messages of 1 MB: the broker keeps them up to its retained cap, subscribers still get them live', async () => {
  // Packets of 1 MB pass (the packet limit is raised for this test); the retained cap is the default.
  const b = await brokerChild({ maxPacketBytes: 2 * MB });
  const url = `mqtt://127.0.0.1:${b.port}`;
  const live = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  let liveCount = 0;
  live.on('message', () => liveCount++);
  await live.subscribeAsync('big/#');
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    const before = await b.memory();
    const payload = Buffer.alloc(MB, 0x42);
    for (let i = 0; i < 500; i++) await c.publishAsync(`big/${i}`, payload, { qos: 1, retain: true });
    const after = await b.memory();
    const growth = (after.live - before.live) / MB;
    console.log(
      `500 x 1 MB retained: ${after.retained.messages} kept (${(after.retained.bytes / MB).toFixed(1)} MB), ${after.refusals.retained} not kept; broker heap and buffers +${growth.toFixed(1)} MB, RSS +${((after.rss - before.rss) / MB).toFixed(1)} MB`,
    );
    assert.ok(after.retained.bytes <= 16 * MB, `${after.retained.bytes} bytes retained`);
    assert.equal(after.retained.messages, 15, '15 messages of 1 MB and their topics fit in 16 MB');
    assert.equal(after.refusals.retained, 500 - 15);
    // What stays in use is the 15 MB kept; the RSS also keeps the allocator's high-water mark of the traffic.
    assert.ok(growth < 16 + 4, `heap and buffers grew by ${growth.toFixed(1)} MB`);
    assert.deepEqual(
      after.stored.sort(),
      Array.from({ length: 15 }, (_, i) => `big/${i}`).sort(),
      'the store holds the first 15',
    );
    const until2 = Date.now() + 30_000;
    while (liveCount < 500 && Date.now() < until2) await new Promise((r) => setTimeout(r, 20));
    assert.equal(liveCount, 500, 'every message was delivered live');
  } finally {
    await Promise.all([c.endAsync(), live.endAsync()]);
    await b.stop();
  }
});
