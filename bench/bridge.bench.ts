/**
 * MQTT bridge (`npm run bench`): a sync that re-publishes BLOCKS level-8 blocks (one
 * sample a second, as a clamp makes them) through MqttBridge over TLS with MQTT 3.1 into the
 * Flukso test server's broker, against a plain mqtt.js client publishing the same bytes on the
 * same kind of connection, in the same run. Each run ends when the server has checked and stored
 * every block. Goal: the bridge within 1.2x of the plain client.
 */
import mqtt from 'mqtt';
import { FluksoTestServer } from '../test/support/flukso-server';
import { testPki } from '../test/support/tls';
import { MqttBridge } from '../core/upload/bridge';
import { encodeSeries } from '../core/tmpo/codec';
import { tmpoBlockTopic } from '../core/mqtt/topics';
import { fmt, goal } from './support';
import { DEVICE_ID, DEVICE_KEY } from '../test/support/device';

const BLOCKS = Number(process.env.FLM_BENCH_BLOCKS ?? 20_000);
const SENSORS = 16;
const DEVICE = { id: DEVICE_ID, key: DEVICE_KEY };
const SIDS = Array.from({ length: SENSORS }, (_, i) => (i + 1).toString(16).padStart(32, 'c'));
const T0 = 1_750_000_128 - (1_750_000_128 % 256);

function blocks(): Array<{ topic: string; bytes: Buffer }> {
  const out: Array<{ topic: string; bytes: Buffer }> = [];
  const times = Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0; out.length < BLOCKS; i++) {
    const bid = T0 + Math.floor(i / SENSORS) * 256;
    const sid = SIDS[i % SENSORS]!;
    // Distinct content per block: the server stores bytes, and gzip should not see one block over and over.
    const bytes = encodeSeries(
      { times: times.map((t) => bid + t), values: times.map((t) => 1000 * i + t * (1 + (i % 7))) },
      { id: sid, type: 'electricity', class: 'analog', data_type: 'counter', rid: 0 } as never,
    );
    out.push({ topic: tmpoBlockTopic({ sid, rid: 0, lvl: 8, bid }), bytes });
  }
  return out;
}

async function main(): Promise<void> {
  const pki = await testPki();
  const work = blocks();
  const bytes = work.reduce((n, b) => n + b.bytes.length, 0);
  console.log(`${BLOCKS} level-8 blocks, ${fmt(bytes / 1024 / 1024, 1)} MiB, mean ${Math.round(bytes / BLOCKS)} bytes`);

  const run = async (
    label: string,
    publish: (port: number) => Promise<{ send: (t: string, b: Buffer) => void; close: () => Promise<void> }>,
  ) => {
    const server = await FluksoTestServer.start({ devices: [{ ...DEVICE, sensors: SIDS }] });
    const broker = await server.startBridge({
      cert: pki.serverCert,
      key: pki.serverKey,
      requireMqtt31: true,
      syncOnConnect: false,
    });
    const p = await publish(broker.port);
    const t0 = process.hrtime.bigint();
    for (const b of work) p.send(b.topic, b.bytes);
    for (let i = 0; broker.blocks.size < BLOCKS && i < 600_000; i++) await new Promise((r) => setTimeout(r, 5));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (broker.blocks.size !== BLOCKS || broker.refused.length)
      throw new Error(
        `${label}: the server stored ${broker.blocks.size} of ${BLOCKS} (${broker.refused.length} refused)`,
      );
    await p.close();
    await server.close();
    console.log(`${label.padEnd(14)} ${fmt(ms, 0)} ms  ${fmt(BLOCKS / (ms / 1000), 0)} blocks/s`);
    return ms;
  };

  const plainClient = async (port: number) => {
    const c = await mqtt.connectAsync({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port,
      ca: pki.caPem,
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      username: DEVICE.id,
      password: DEVICE.key,
      clean: true,
      reconnectPeriod: 0,
    });
    return { send: (t: string, b: Buffer) => void c.publish(t, b, { qos: 0 }), close: () => c.endAsync() };
  };
  const bridgeClient = async (port: number) => {
    const b = new MqttBridge({ host: '127.0.0.1', port, ca: pki.caPem, deviceId: DEVICE.id, deviceKey: DEVICE.key });
    b.start();
    for (let i = 0; b.state().phase !== 'connected' && i < 2000; i++) await new Promise((r) => setTimeout(r, 5));
    return {
      send: (t: string, bytes: Buffer) => {
        if (b.publish(t, bytes) !== 'sent') throw new Error('the bridge did not send');
      },
      close: () => b.close(),
    };
  };
  // Alternating rounds, best of each: the first round of all pays for warming up the process.
  let plain = Infinity;
  let bridged = Infinity;
  for (let round = 0; round < 2; round++) {
    plain = Math.min(plain, await run('plain mqtt.js', plainClient));
    bridged = Math.min(bridged, await run('MqttBridge', bridgeClient));
  }
  goal('ratio bridge / plain time', bridged / plain, '<=', 1.2);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
