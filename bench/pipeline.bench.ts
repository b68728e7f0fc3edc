/**
 * Pipeline throughput: readings through flm-sensor -> flm-broker -> an mqtt.js subscriber,
 * against raw aedes publish -> the same subscriber, for the same messages in the same run.
 * Goal: at least 0.5 of raw.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { onTab, freePort } from '../test/support/nodered';
import { benchRuntime } from './runtime';
import { untilListening } from '../test/support/net';
import { bigHouse, secondOf, counter, fmt, goal } from './support';
import { ReadingComputer } from '../core/readings/computer';
import { parseDevice } from '../core/config/device';
import { encodeReading } from '../core/mqtt/payload';
import { sensorTopic } from '../core/mqtt/topics';
import { DEVICE_ID, DEVICE_KEY } from '../test/support/device';

const SENSORS = 128;
const SECONDS = 400;
const T0 = Date.UTC(2026, 0, 1);
const DEVICE = { id: DEVICE_ID, key: DEVICE_KEY };

/** The exact messages the pipeline publishes, so the baseline sends the same bytes. */
function expectedMessages(): Array<[string, string]> {
  const c = new ReadingComputer(parseDevice({ ...DEVICE, sensors: bigHouse(SENSORS) }));
  const out: Array<[string, string]> = [];
  for (let s = 0; s < SECONDS; s++) {
    for (const r of c.process(secondOf(SENSORS, T0 + s * 1000)).readings)
      out.push([sensorTopic(r.sid, r.kind), encodeReading(r.ts, r.value, r.unit)]);
  }
  return out;
}

async function raw(messages: Array<[string, string]>): Promise<number> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  const port = await new Promise<number>((r) =>
    server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)),
  );
  const sub = await counter(port, '/sensor/#');
  const t0 = process.hrtime.bigint();
  for (const [topic, payload] of messages) {
    await new Promise<void>((r) =>
      aedes.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: true, dup: false } as never,
        () => r(),
      ),
    );
  }
  await sub.until(messages.length);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await sub.client.endAsync(true);
  await new Promise<void>((r) => aedes.close(() => r()));
  server.close();
  return ms;
}

type Runtime = Awaited<ReturnType<typeof benchRuntime>>;

async function pipeline(rt: Runtime, expected: number): Promise<number> {
  const port = await freePort();
  await rt.deploy(
    onTab([
      {
        id: 'dev',
        type: 'flm-device',
        deviceId: DEVICE.id,
        dataDir: `${rt.dataDir}-${port}`,
        sensors: bigHouse(SENSORS),
      },
      { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['broker']] },
      { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(port), wsPort: '', access: 'open' },
    ]),
  );
  const sub = await waitForBroker(port);
  const sensor = rt.red.getNode('sensor');
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < SECONDS; s++) {
    sensor.receive({ topic: 'board/batch', payload: secondOf(SENSORS, T0 + s * 1000) });
    // Let the runtime deliver as a real source would hand it batches, without idling.
    if (s % 10 === 9) await new Promise((r) => setImmediate(r));
  }
  await sub.until(expected);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await sub.client.endAsync(true);
  return ms;
}

/** The broker starts asynchronously after a deploy: subscribe once it listens. */
async function waitForBroker(port: number) {
  await untilListening(port);
  return counter(port, '/sensor/#');
}

async function main() {
  const messages = expectedMessages();
  const n = messages.length;
  // Warm both paths once, then measure alternately and keep the best of three of each.
  const rt = await benchRuntime();
  await raw(messages.slice(0, 2000));
  await pipeline(rt, 0);
  const r: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < 3; i++) {
    r.push(await raw(messages));
    p.push(await pipeline(rt, n));
  }
  await rt.stop();
  const rawRate = n / (Math.min(...r) / 1000);
  const pipeRate = n / (Math.min(...p) / 1000);
  console.log(`messages per run: ${n} (${SENSORS} sensors x ${SECONDS} s)`);
  console.log(
    `raw aedes publish -> mqtt.js: ${fmt(rawRate, 0)} msg/s (best of ${r.map((x) => fmt(x, 0)).join(', ')} ms)`,
  );
  console.log(
    `flm-sensor -> flm-broker -> mqtt.js: ${fmt(pipeRate, 0)} msg/s (best of ${p.map((x) => fmt(x, 0)).join(', ')} ms)`,
  );
  const ratio = pipeRate / rawRate;
  goal('ratio pipeline / raw msg/s', ratio, '>=', 0.5);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
