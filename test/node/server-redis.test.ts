import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { helper, onTab, waitFor, withDataDir, freePort } from '../support/nodered';
import { callsOf, lastStatusOf } from '../support/node-calls';
import { startRedis } from '../support/redis';
import { FileRegistry } from '../../core/server/registry';

const server = require('../../nodes/flm-server').default;
const serverBridge = require('../../nodes/flm-server-bridge').default;

const DID = 'd9000000000000000000000000000001';
const KEY = 'a9000000000000000000000000000001';
const SID = 'c9000000000000000000000000000001';

afterEach(async () => {
  await helper.unload();
});

async function until(what: string, ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Connections Redis has open, besides the one asking. */
async function redisClients(url: string): Promise<number> {
  const r = new Redis(url, { lazyConnect: true });
  await r.connect();
  try {
    return (
      String(await r.client('LIST'))
        .trim()
        .split('\n').length - 1
    );
  } finally {
    r.disconnect();
  }
}

/** Pub/sub channels and patterns subscribed in Redis: aedes's emitter on Redis subscribes some. */
async function redisSubscriptions(url: string): Promise<number> {
  const r = new Redis(url, { lazyConnect: true });
  await r.connect();
  try {
    const channels = (await r.pubsub('CHANNELS')) as unknown[];
    return channels.length + Number(await r.pubsub('NUMPAT'));
  } finally {
    r.disconnect();
  }
}

test('flm-server on Redis: its bridge endpoint runs on it (an FLM logs in and gets its sync list), /health follows Redis, closing frees every Redis connection', async () => {
  const redis = await startRedis();
  try {
    await withDataDir(async (dataDir) => {
      const reg = await FileRegistry.open(join(dataDir, 'server'));
      await reg.addUser('alice');
      await reg.addDevice(DID, KEY, 'alice', [SID]);
      const apiPort = await freePort();
      await helper.load(
        [server, serverBridge],
        onTab([
          { id: 'srv', type: 'flm-server', dataDir, apiPort: String(apiPort), redis: redis.url },
          { id: 'br', type: 'flm-server-bridge', server: 'srv', port: '0', dataDir },
        ]),
      );
      const br = helper.getNode('br');
      const line = await waitFor('the bridge start line', () =>
        callsOf(br, 'log')
          .map((a) => String(a[0]))
          .find((l) => l.includes('bridge_cafile')),
      );
      const port = Number(/mqtts:\/\/127\.0\.0\.1:(\d+)/.exec(line)![1]);
      // the endpoint's aedes uses the server's Redis: its emitter subscribes there
      assert.ok((await redisSubscriptions(redis.url)) > 0, 'aedes subscribed in Redis');
      const replies: string[] = [];
      const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
        ca: await readFile(join(dataDir, 'server-tls', 'ca.crt')),
        protocolId: 'MQIsdp',
        protocolVersion: 3,
        username: DID,
        password: KEY,
        reconnectPeriod: 0,
      });
      // the sync list comes right after CONNACK, unasked, as the Flukso server sent it
      client.on('message', (t, p) => t === `/d/device/${DID}/tmpo/sync` && replies.push(p.toString()));
      try {
        await waitFor('the sync list after login', () => replies.length === 1, 10_000);
        assert.match(replies[0]!, new RegExp(SID));
        // and again when the FLM asks (tmpod's sync request)
        await client.publishAsync(`/device/${DID}/tmpo/sync`, '');
        await waitFor('the sync list asked for', () => replies.length === 2, 10_000);
      } finally {
        await client.endAsync(true);
      }
      const health = async () => (await fetch(`http://127.0.0.1:${apiPort}/health`)).status;
      assert.equal(await health(), 200);
      await redis.stop();
      await until('/health 503 without Redis', async () => (await health()) === 503);
      await redis.again();
      await until('/health 200 with Redis back', async () => (await health()) === 200);
      await helper.unload();
      await until('no Redis connection left', async () => (await redisClients(redis.url)) === 0);
    });
  } finally {
    await redis.remove();
  }
});

test('flm-server with a Redis setting that is not a Redis URL says so in a red status', async () => {
  await withDataDir(async (dataDir) => {
    await helper.load(
      [server],
      onTab([{ id: 'srv', type: 'flm-server', dataDir, apiPort: '0', redis: 'http://127.0.0.1:6379' }]),
    );
    const srv = helper.getNode('srv');
    await waitFor('the error', () => lastStatusOf(srv).fill === 'red');
    assert.match(lastStatusOf(srv).text, /Redis URL/);
  });
});
