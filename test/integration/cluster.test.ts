/**
 * Several instances on loopback (docs/cluster.md): Redis, three `npm start` instances with FLM_REDIS_URL and HAProxy in
 * front (test/support/cluster.ts). 20 subscribers and 2 publishers go through the balancer; one
 * instance is killed with SIGKILL mid-load and its clients reconnect to the others.
 *
 * Each instance runs the default flow with its own simulator: each has its own data dir and so
 * its own device id, i.e. three FLMs sharing one namespace, on topics that never collide. Giving
 * them one device id would make three pipelines write the same topics with different values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { startCluster } from '../support/cluster';

const PUBLISHERS = 2;
const CLEAN_SUBSCRIBERS = 10;
const PERSISTENT_SUBSCRIBERS = 10;
/** messages per publisher; at the pace below the load lasts about 10 s */
const MESSAGES = 500;
const PACE_MS = 20;

interface Sub {
  id: string;
  persistent: boolean;
  client: mqtt.MqttClient;
  got: Set<string>;
  /** when its last subscription was acknowledged */
  subscribedAt: number;
  reconnects: number;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Retained messages under `filters` as a fresh subscriber on one instance gets them. */
async function retainedAt(port: number, filters: string[], expect: number): Promise<Map<string, string>> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const got = new Map<string, string>();
  c.on('message', (t, p, packet) => packet.retain && got.set(t, p.toString()));
  await c.subscribeAsync(filters);
  await until(`${expect} retained messages on :${port}`, () => got.size >= expect, 15_000);
  await new Promise((r) => setTimeout(r, 300)); // any further ones
  await c.endAsync(true);
  return got;
}

function subscribe(url: string, id: string, persistent: boolean): Promise<Sub> {
  const client = mqtt.connect(url, {
    clientId: id,
    clean: !persistent,
    reconnectPeriod: 300,
    connectTimeout: 5000,
    // a clean session must subscribe again on each connection; a persistent one keeps its own
    resubscribe: false,
  });
  const sub: Sub = { id, persistent, client, got: new Set(), subscribedAt: Infinity, reconnects: -1 };
  client.on('message', (_t, p) => sub.got.add(p.toString()));
  return new Promise((resolve) => {
    client.on('connect', (ack) => {
      sub.reconnects++;
      if (persistent && ack.sessionPresent) return resolve(sub);
      client.subscribe('load/#', { qos: persistent ? 1 : 0 }, (err) => {
        if (!err) sub.subscribedAt = Date.now();
        resolve(sub);
      });
    });
  });
}

test('three instances behind HAProxy on one Redis: one killed mid-load, no subscriber misses a message', async (t) => {
  const cluster = await startCluster(3);
  const subs: Sub[] = [];
  const pubs: mqtt.MqttClient[] = [];
  try {
    for (let i = 0; i < PERSISTENT_SUBSCRIBERS; i++) subs.push(await subscribe(cluster.mqttUrl, `keep-${i}`, true));
    for (let i = 0; i < CLEAN_SUBSCRIBERS; i++) subs.push(await subscribe(cluster.mqttUrl, `clean-${i}`, false));

    /** payload -> when its publish started; only acknowledged ones */
    const sent = new Map<string, number>();
    const publishAll = async (p: number) => {
      const c = mqtt.connect(cluster.mqttUrl, { clientId: `pub-${p}`, reconnectPeriod: 300, clean: false });
      pubs.push(c);
      for (let n = 0; n < MESSAGES; n++) {
        const payload = `${p}:${n}`;
        const t = Date.now();
        // mqtt.js keeps an unacknowledged QoS 1 message and sends it again after a reconnect
        await c.publishAsync(`load/${p}`, payload, { qos: 1 });
        sent.set(payload, t);
        if (n % 50 === 0) await c.publishAsync(`ret/${p}`, payload, { qos: 1, retain: true });
        await new Promise((r) => setTimeout(r, PACE_MS));
      }
      await c.publishAsync(`ret/${p}`, 'last', { qos: 1, retain: true });
    };
    const load = Promise.all(Array.from({ length: PUBLISHERS }, (_, p) => publishAll(p)));
    await until('a third of the load', () => sent.size >= (PUBLISHERS * MESSAGES) / 3, 60_000);
    cluster.kill(0);
    await load;
    const total = PUBLISHERS * MESSAGES;
    assert.equal(sent.size, total);

    // Persistent QoS 1 sessions get everything, the messages sent while they moved included.
    for (const s of subs.filter((x) => x.persistent)) {
      await until(`${s.id} got all ${total}`, () => s.got.size >= total, 30_000).catch(() => {});
      const missing = [...sent.keys()].filter((k) => !s.got.has(k));
      assert.deepEqual(missing.slice(0, 10), [], `${s.id} (${s.reconnects} reconnects) missed ${missing.length}`);
    }
    // Clean sessions get everything published after their last subscription was acknowledged.
    for (const s of subs.filter((x) => !x.persistent)) {
      const due = [...sent].filter(([, t]) => t >= s.subscribedAt).map(([k]) => k);
      await until(`${s.id} got its ${due.length}`, () => due.every((k) => s.got.has(k)), 30_000).catch(() => {});
      const missing = due.filter((k) => !s.got.has(k));
      assert.deepEqual(missing.slice(0, 10), [], `${s.id} (${s.reconnects} reconnects) missed ${missing.length}`);
    }
    const moved = subs.filter((s) => s.reconnects > 0).length;
    assert.ok(moved > 0, 'the killed instance had clients, and they reconnected elsewhere');
    t.diagnostic(`${moved} of ${subs.length} subscribers moved; ${total} messages each`);

    // The killed instance comes back; all three hold the same retained state.
    await cluster.restart(0);
    const filters = ['ret/#', '/device/+/config/sensor'];
    const expected = PUBLISHERS + 3; // the publishers' last retained, and each instance's sensor table
    const views = [];
    for (const p of cluster.instances) views.push(await retainedAt(p.mqttPort, filters, expected));
    for (const v of views) {
      assert.equal(v.size, expected);
      assert.deepEqual([...v].sort(), [...views[0]!].sort());
    }
    for (let p = 0; p < PUBLISHERS; p++) assert.equal(views[0]!.get(`ret/${p}`), 'last');
    for (let i = 0; i < 3; i++) assert.equal(await cluster.health(i), 200);
    const viaBalancer = await fetch(`${cluster.apiUrl}/health`);
    assert.equal(viaBalancer.status, 200);
    assert.equal(((await viaBalancer.json()) as { ok: boolean }).ok, true);
  } finally {
    for (const c of [...pubs, ...subs.map((s) => s.client)]) c.end(true);
    await cluster.stop();
  }
});

test('Redis down: every instance answers 503 on /health and refuses logins; back up, they take data again', async () => {
  const cluster = await startCluster(2);
  try {
    await cluster.redis.stop();
    for (let i = 0; i < 2; i++)
      await until(`instance ${i} unhealthy`, async () => (await cluster.health(i)) === 503, 20_000);
    await assert.rejects(
      mqtt.connectAsync(`mqtt://127.0.0.1:${cluster.instances[0]!.mqttPort}`, { reconnectPeriod: 0 }),
      /Server unavailable/i,
    );
    await cluster.redis.again();
    for (let i = 0; i < 2; i++) await cluster.untilHealthy(i, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // the balancer takes them back after two good checks
    const c = await mqtt.connectAsync(cluster.mqttUrl, { reconnectPeriod: 0 });
    await c.publishAsync('after/outage', 'ok', { qos: 1 });
    await c.endAsync(true);
  } finally {
    await cluster.stop();
  }
});
