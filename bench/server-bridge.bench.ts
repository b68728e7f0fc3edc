/**
 * The server's bridge endpoint (`npm run bench`): DEVICES FLMs, each an mqtt.js client over TLS
 * speaking MQTT 3.1, send BLOCKS level-8 blocks between them into BridgeEndpoint with an
 * in-memory backend, against a bare aedes on the same kind of TLS listener that only counts the
 * publishes (the baseline), in the same run. A run ends when every block was stored (counted).
 * Goals: the endpoint at least half the baseline's rate, and at least the block traffic of 10,000
 * FLMs (4 sensors, one level-8 block per sensor every 256 s) with 10x headroom.
 */
import mqtt from 'mqtt';
import { gzipSync } from 'node:zlib';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { BridgeEndpoint } from '../core/server/bridge/endpoint';
import { tmpoBlockTopic } from '../core/mqtt/topics';
import { MemoryBridgeBackend } from '../test/support/memory-bridge-backend';
import { testPki } from '../test/support/tls';
import { fmt, goal } from './support';
import { prng } from '../core/util/prng';

const DEVICES = Number(process.env.FLM_BENCH_DEVICES ?? 50);
const BLOCKS = Number(process.env.FLM_BENCH_BLOCKS ?? 20_000);
const T0 = 1_750_000_128 - (1_750_000_128 % 256);
const did = (i: number) => (i + 1).toString(16).padStart(32, 'd');
const sidOf = (i: number, s: number) => (i * 4 + s + 1).toString(16).padStart(32, 'c');
/** 10,000 FLMs x 4 sensors, a level-8 block each every 256 s, times 10 */
const NEEDED = ((10_000 * 4) / 256) * 10;

interface Work {
  device: number;
  topic: string;
  bytes: Buffer;
}

function work(): Work[] {
  const out: Work[] = [];
  const random = prng(7);
  for (let i = 0; out.length < BLOCKS; i++) {
    const device = i % DEVICES;
    const s = Math.floor(i / DEVICES) % 4;
    const bid = T0 + Math.floor(i / (DEVICES * 4)) * 256;
    // a real block's shape: 256 one-second samples as deltas of a varying power, gzipped
    const v = Array.from({ length: 255 }, () => Math.floor(random() * 40)).join(',');
    const body = `{"h":{"head":[${bid},${i}],"tail":[${bid + 255},${i + 255}],"vsn":1,"cfg":{}},"t":[0${',1'.repeat(255)}],"v":[0,${v}]}`;
    out.push({ device, topic: tmpoBlockTopic({ sid: sidOf(device, s), rid: 0, lvl: 8, bid }), bytes: gzipSync(body) });
  }
  return out;
}

async function main(): Promise<void> {
  const pki = await testPki();
  const blocks = work();
  console.log(
    `${DEVICES} FLMs, ${BLOCKS} level-8 blocks, mean ${Math.round(blocks.reduce((n, b) => n + b.bytes.length, 0) / BLOCKS)} bytes`,
  );
  const backendFor = () => {
    const b = new MemoryBridgeBackend();
    for (let i = 0; i < DEVICES; i++)
      b.addDevice(
        did(i),
        did(i),
        [0, 1, 2, 3].map((s) => sidOf(i, s)),
      );
    return b;
  };

  const run = async (
    label: string,
    listener: () => Promise<{ port: number; count: () => number; close: () => Promise<void> }>,
  ) => {
    const l = await listener();
    const clients = await Promise.all(
      Array.from({ length: DEVICES }, (_, i) =>
        mqtt.connectAsync(`mqtts://127.0.0.1:${l.port}`, {
          ca: pki.caPem,
          protocolId: 'MQIsdp',
          protocolVersion: 3,
          username: did(i),
          password: did(i),
          reconnectPeriod: 0,
        }),
      ),
    );
    const rss0 = process.memoryUsage().rss;
    const t0 = process.hrtime.bigint();
    for (const b of blocks) clients[b.device]!.publish(b.topic, b.bytes, { qos: 0 });
    for (let i = 0; l.count() < BLOCKS && i < 120_000; i++) await new Promise((r) => setTimeout(r, 5));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const rss = process.memoryUsage().rss - rss0;
    if (l.count() !== BLOCKS) throw new Error(`${label}: ${l.count()} of ${BLOCKS} arrived`);
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await l.close();
    console.log(
      `${label.padEnd(16)} ${fmt(ms, 0)} ms  ${fmt(BLOCKS / (ms / 1000), 0)} blocks/s  rss +${fmt(rss / 1024 / 1024, 0)} MiB`,
    );
    return BLOCKS / (ms / 1000);
  };

  const bareAedes = async () => {
    const aedes = await Aedes.createBroker();
    let n = 0;
    aedes.on('publish', (_p, client) => {
      if (client) n++;
    });
    const server = createServer({ cert: pki.serverCert, key: pki.serverKey }, aedes.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      port: (server.address() as AddressInfo).port,
      count: () => n,
      close: async () => {
        await new Promise<void>((r) => aedes.close(() => r()));
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  };
  const endpoint = async () => {
    const backend = backendFor();
    const e = await BridgeEndpoint.start({
      host: '127.0.0.1',
      port: 0,
      backend,
      tls: { cert: pki.serverCert, key: pki.serverKey },
      // The bench sends a device's blocks as fast as it can; the per-device pace is not what is measured.
      limits: { publishesPerSecond: Infinity },
    });
    return { port: e.port, count: () => backend.blocks.length, close: () => e.close(3000) };
  };

  let bare = 0;
  let ours = 0;
  for (let round = 0; round < 2; round++) {
    bare = Math.max(bare, await run('bare aedes', bareAedes));
    ours = Math.max(ours, await run('bridge endpoint', endpoint));
  }
  goal('ratio endpoint / bare aedes blocks per second', ours / bare, '>=', 0.5);
  goal('endpoint blocks per second (10,000 FLMs x 10)', ours, '>=', NEEDED, { digits: 0 });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
