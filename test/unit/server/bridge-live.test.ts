/**
 * The server's live readings on the bridge port and the users who read them
 * (docs/protocols/server-bridge.md#live-readings, #user-logins): a real FluksoServer on a file
 * store, its bridge endpoint over TLS on 127.0.0.1, uploads over HTTP and a block over the bridge,
 * mqtt.js as the users' and the device's clients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { xDigest } from '../../../core/upload/digest';
import { FluksoServer } from '../../../core/server/service';
import { FileRegistry } from '../../../core/server/registry';
import { BridgeEndpoint } from '../../../core/server/bridge/endpoint';
import { counterPayload, formatG14 } from '../../../core/server/bridge/live';
import { testPki } from '../../support/tls';
import { withTempDir } from '../../support/temp-dir';

const DID = 'd'.repeat(32);
const KEY = '0123456789abcdef0123456789abcdef';
const S1 = '1'.repeat(32);
const S2 = '2'.repeat(32);
const DID2 = 'e'.repeat(32);
const KEY2 = 'fedcba9876543210fedcba9876543210';
const S3 = '3'.repeat(32);
const S4 = '4'.repeat(32);
const T0 = 1_700_000_000;
const run = promisify(execFile);

async function until(cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${cond.toString()}`);
}

/** The SUBACK's return codes, as on the wire (mqtt.js turns a refusal into an error). */
function subAck(c: mqtt.MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (p: mqtt.Packet) => {
      if (p.cmd !== 'suback') return;
      c.off('packetreceive', onPacket);
      resolve(p.granted as number[]);
    };
    c.on('packetreceive', onPacket);
    c.subscribe(Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }])), () => {});
  });
}

interface SessionStore {
  subscriptionsByClient(c: { id: string }): Promise<Array<{ topic: string }> | null>;
}

interface Msg {
  topic: string;
  payload: string;
  retain: boolean;
}

test("the counter payload is the FLM's bytes: no spaces, %.14g, the unit quoted", () => {
  assert.equal(counterPayload(1449999999, 123456, 'Wh'), '[1449999999,123456,"Wh"]');
  assert.equal(counterPayload(1449999999, 0, 'L'), '[1449999999,0,"L"]');
  assert.equal(formatG14(1020.5), '1020.5');
  assert.equal(formatG14(99999999999999), '99999999999999');
  assert.equal(formatG14(1e14), '1e+14');
  assert.equal(formatG14(123456789012344), '1.2345678901234e+14');
  assert.equal(formatG14(0.1 + 0.2), '0.3');
  assert.equal(formatG14(0.00001), '1e-05');
  assert.equal(formatG14(-42), '-42');
});

test('live readings: newest only, exact bytes, retained last value; users read their own and shared sensors only', async () => {
  await withTempDir(async (dir) => {
    const reg = await FileRegistry.open(`${dir}/server`);
    const alice = await reg.addUser('alice');
    const bob = await reg.addUser('bob');
    await reg.addDevice(DID, KEY, 'alice', [S1, S2]);
    await reg.addDevice(DID2, KEY2, 'bob', [S3, S4]);
    await reg.share(S3, 'alice');
    await reg.applySensorConfig(DID, {
      main: {},
      1: { id: S1, type: 'electricity', class: 'analog', function: 'house', enable: 1, data_type: 'counter' },
      2: { id: S2, type: 'water', class: 'pulse', function: 'tap', enable: 1, data_type: 'counter' },
    });
    const pki = await testPki();
    const server = await FluksoServer.start({ dataDir: dir, port: 0 });
    const endpoint = await BridgeEndpoint.start({
      host: '127.0.0.1',
      port: 0,
      backend: server.bridgeBackend,
      tls: { cert: pki.serverCert, key: pki.serverKey },
    });
    const url = `mqtts://127.0.0.1:${endpoint.port}`;
    const clients: mqtt.MqttClient[] = [];
    const connect = async (o: mqtt.IClientOptions) => {
      const c = await mqtt.connectAsync(url, { ca: pki.caPem, reconnectPeriod: 0, ...o });
      clients.push(c);
      const got: Msg[] = [];
      c.on('message', (topic, p, packet) => got.push({ topic, payload: p.toString(), retain: packet.retain }));
      return { c, got };
    };
    const post = async (sid: string, key: string, measurements: Array<[number, number]>) => {
      const body = JSON.stringify({ measurements });
      const r = await fetch(new URL(`sensor/${sid}`, server.url), {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', 'X-Version': '1.0', 'X-Digest': xDigest(key, body) },
      });
      assert.equal(r.status, 200, await r.text());
    };
    try {
      // Stored before anyone listens: a subscriber gets the last value, retained.
      await post(S1, KEY, [
        [T0, 1000],
        [T0 + 60, 1010],
      ]);
      await post(S4, KEY2, [[T0, 5]]);
      // a water sensor: litres, and litres a day for the power
      await post(S2, KEY, [
        [T0, 100],
        [T0 + 60, 101],
      ]);
      await until(() => endpoint.counts.get('live') === 3, 5000);

      const a = await connect({ username: 'alice', password: alice, clientId: 'alice-phone' });
      const filters = [
        `/sensor/${S1}/counter`,
        '/sensor/+/+',
        `/sensor/${S4}/counter`,
        '#',
        `/device/${DID}/config/sensor`,
      ];
      assert.deepEqual(
        await subAck(a.c, filters),
        [1, 1, 128, 128, 128],
        'her sensors and the + filter granted; bob\'s own sensor, "#" and a device topic refused',
      );
      await until(() => a.got.some((m) => m.topic.endsWith('/gauge')), 5000);
      // bob's unshared S4 has a retained counter too; it never reaches alice
      const retainedS1 = a.got.filter((m) => m.topic === `/sensor/${S1}/counter`);
      assert.ok(retainedS1.length >= 1 && retainedS1.every((m) => m.retain));
      assert.equal(retainedS1[0]!.payload, `[${T0 + 60},1010,"Wh"]`);
      assert.ok(a.got.some((m) => m.topic === `/sensor/${S1}/gauge` && m.payload === `[${T0 + 60},600,"W"]`));
      await until(() => a.got.some((m) => m.topic === `/sensor/${S2}/gauge`), 5000);
      assert.ok(a.got.some((m) => m.topic === `/sensor/${S2}/counter` && m.payload === `[${T0 + 60},101,"L"]`));
      assert.ok(a.got.some((m) => m.topic === `/sensor/${S2}/gauge` && m.payload === `[${T0 + 60},1440,"L/day"]`));

      // a persistent session names its sensors: its queue must hold nothing of anyone else's
      const kept = await connect({ username: 'alice', password: alice, clientId: 'alice-kept', clean: false });
      assert.deepEqual(await subAck(kept.c, ['/sensor/+/counter', `/sensor/${S1}/counter`]), [128, 1]);
      // and keeps only what it was granted (aedes hands the store the refused filter too)
      const persistence = (endpoint.aedes as unknown as { persistence: SessionStore }).persistence;
      const keptSubs = await persistence.subscriptionsByClient({ id: 'user/alice/alice-kept' });
      assert.deepEqual(
        keptSubs?.map((x) => x.topic),
        [`/sensor/${S1}/counter`],
      );

      // live: newer readings are published; a late one is stored, not published
      await post(S1, KEY, [[T0 + 120, 1020]]);
      await post(S1, KEY, [[T0 + 90, 1015]]);
      await post(S1, KEY, [[T0 + 180, 1040]]);
      await post(S3, KEY2, [[T0 + 100, 77]]);
      await post(S4, KEY2, [[T0 + 100, 6]]);
      // the bridge carries readings too: a block whose newest sample is newer than the uploads
      const dev = await connect({ username: DID, password: KEY, protocolId: 'MQIsdp', protocolVersion: 3 });
      const head = T0 + 522; // head and tail in one 256 s block
      const block = gzipSync(
        Buffer.from(`{"h":{"head":[${head},1060],"tail":[${head + 60},1070],"vsn":1,"cfg":{}},"t":[0,60],"v":[0,10]}`),
      );
      const bid = head - (head % 256);
      await dev.c.publishAsync(`/sensor/${S1}/tmpo/0/8/${bid}/gz`, block, { qos: 0 });
      // the power goes out after its counter: wait for it
      await until(() => a.got.some((m) => m.payload === `[${head + 60},600,"W"]`), 5000);
      await until(() => a.got.some((m) => m.topic === `/sensor/${S3}/counter`), 5000);
      const live = a.got.filter((m) => m.topic === `/sensor/${S1}/counter` && !m.retain).map((m) => m.payload);
      assert.deepEqual(
        [...new Set(live)],
        [`[${T0 + 120},1020,"Wh"]`, `[${T0 + 180},1040,"Wh"]`, `[${head + 60},1070,"Wh"]`],
        'the newer ones, in order; the late upload is not on the wire',
      );
      assert.ok(
        a.got.some((m) => m.payload === `[${T0 + 180},1200,"W"]`),
        'the power between two uploads',
      );
      assert.ok(
        a.got.some((m) => m.payload === `[${head + 60},600,"W"]`),
        'the power within a block',
      );
      assert.ok(endpoint.counts.get('live-late') >= 1);
      assert.deepEqual(
        [...new Set(a.got.map((m) => m.topic.split('/')[2]))].sort(),
        [S1, S2, S3],
        'her own and the shared sensor only',
      );

      // the retained value is the newest, whoever subscribes next
      const a2 = await connect({ username: 'alice', password: alice });
      await a2.c.subscribeAsync(`/sensor/${S1}/counter`, { qos: 0 });
      await until(() => a2.got.length === 1, 5000);
      assert.deepEqual(a2.got[0], {
        topic: `/sensor/${S1}/counter`,
        payload: `[${head + 60},1070,"Wh"]`,
        retain: true,
      });

      // the README's mosquitto_sub line, as written but for the address: the retained values of her sensors (S3 has no power yet)
      const sub = await run(
        'mosquitto_sub',
        ['-h', '127.0.0.1', '-p', String(endpoint.port), '--cafile', pki.caFile, '-u', 'alice', '-P', alice].concat([
          '-v',
          '-t',
          '/sensor/+/counter',
          '-t',
          '/sensor/+/gauge',
          '-C',
          '5',
          '-W',
          '10',
        ]),
      );
      assert.deepEqual(
        sub.stdout.trim().split('\n').sort(),
        [
          `/sensor/${S1}/counter [${head + 60},1070,"Wh"]`,
          `/sensor/${S1}/gauge [${head + 60},600,"W"]`,
          `/sensor/${S3}/counter [${T0 + 100},77,"Wh"]`,
          `/sensor/${S2}/counter [${T0 + 60},101,"L"]`,
          `/sensor/${S2}/gauge [${T0 + 60},1440,"L/day"]`,
        ].sort(),
      );

      // a device keeps its rights: no live readings for it
      assert.deepEqual(await subAck(dev.c, [`/sensor/${S1}/counter`]), [128]);

      // users only read: a publish closes the connection, and is counted
      const closed = new Promise<void>((r) => a2.c.once('close', () => r()));
      a2.c.publish(`/sensor/${S1}/counter`, `[${T0 + 9999},1,"Wh"]`, { qos: 1, retain: true });
      await closed;
      assert.equal(endpoint.counts.get('user-publish-refused'), 1);
      const a3 = await connect({ username: 'alice', password: alice });
      await a3.c.subscribeAsync(`/sensor/${S1}/counter`);
      await until(() => a3.got.length === 1, 5000);
      assert.equal(a3.got[0]!.payload, `[${head + 60},1070,"Wh"]`, 'the refused publish changed nothing');

      // bad logins: wrong token, another user's token, a sensor token, no login at all
      const sensorToken = reg.sensor(S1)!.token;
      for (const o of [
        { username: 'alice', password: 'f'.repeat(32) },
        { username: 'alice', password: bob },
        { username: 'alice', password: sensorToken },
        { username: 'nobody', password: alice },
        {},
      ] as mqtt.IClientOptions[])
        await assert.rejects(
          mqtt.connectAsync(url, { ca: pki.caPem, reconnectPeriod: 0, ...o }),
          /Bad username|Not authorized/i,
        );
      assert.equal(endpoint.counts.get('user-login'), 5);
    } finally {
      for (const c of clients) c.end(true);
      await endpoint.close();
      await server.close();
    }
  });
});
