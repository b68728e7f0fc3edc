/**
 * The cost of a real household: 128 sensors at 1 Hz for 60 simulated seconds through
 * flm-sensor -> flm-broker -> an mqtt.js subscriber. Reports CPU time per simulated second as a
 * share of one core (goal: under 1 %), beside the same messages through raw aedes, measured in
 * the same run.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { onTab, freePort, waitFor } from '../test/support/nodered';
import { untilListening } from '../test/support/net';
import { benchRuntime } from './runtime';
import { bigHouse, secondOf, counter, fmt, goal } from './support';

const SENSORS = 128;
const SECONDS = 60;
const ROUNDS = 5;
const T0 = Date.UTC(2026, 0, 1);
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function main() {
  const rt = await benchRuntime();
  const port = await freePort();
  await rt.deploy(
    onTab([
      {
        id: 'dev',
        type: 'flm-device',
        deviceId: '0123456789abcdef0123456789abcdef',
        dataDir: rt.dataDir,
        sensors: bigHouse(SENSORS),
      },
      { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['broker']] },
      { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(port), wsPort: '', access: 'open' },
    ]),
  );
  await untilListening(port);
  const sub = await counter(port, '/sensor/#');
  const sensor = rt.red.getNode('sensor');
  let second = 0;
  const shares: number[] = [];
  let published = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    const before = sub.count;
    const cpu0 = process.cpuUsage();
    for (let s = 0; s < SECONDS; s++, second++) {
      sensor.receive({ topic: 'board/batch', payload: secondOf(SENSORS, T0 + second * 1000) });
      await new Promise((r) => setImmediate(r));
    }
    // every second: 64 gauges for the clamps + 64 counters and (after the first) 64 gauges for pulses
    await waitFor('all readings delivered', () => sub.count - before >= SECONDS * SENSORS * 1.4, 30_000);
    const used = cpuMs(process.cpuUsage(cpu0));
    published = sub.count - before;
    if (round > 0) shares.push(used / (SECONDS * 1000)); // round 0 warms up
  }
  await sub.client.endAsync(true);
  await rt.stop();

  // Baseline: the same number of messages straight through aedes to the same kind of subscriber.
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  const rawPort = await new Promise<number>((r) =>
    server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)),
  );
  const rawSub = await counter(rawPort, '/sensor/#');
  const rawShares: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const before = rawSub.count;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < published; i++) {
      aedes.publish(
        {
          cmd: 'publish',
          topic: `/sensor/${(i % SENSORS).toString(16).padStart(32, '0')}/gauge`,
          payload: Buffer.from(`[${1767225600 + i},${i % 3000},"W"]`),
          qos: 0,
          retain: true,
          dup: false,
        } as never,
        () => undefined,
      );
      if (i % SENSORS === 0) await new Promise((r) => setImmediate(r));
    }
    await rawSub.until(before + published);
    if (round > 0) rawShares.push(cpuMs(process.cpuUsage(cpu0)) / (SECONDS * 1000));
  }
  await rawSub.client.endAsync(true);
  await new Promise<void>((r) => aedes.close(() => r()));
  server.close();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const share = median(shares);
  const rawShare = median(rawShares);
  console.log(
    `${SENSORS} sensors at 1 Hz, ${SECONDS} simulated s per round, ${published} messages per round, median of ${ROUNDS} rounds`,
  );
  console.log(`raw aedes, same message count: ${fmt(rawShare * 100, 3)} % of one core per simulated second`);
  console.log(
    `flm pipeline: ${fmt(share * 100, 3)} % of one core per simulated second (${fmt(share / rawShare)}x raw)`,
  );
  goal('flm pipeline, share of one core per simulated second', share * 100, '<', 1, { digits: 3, unit: ' %' });
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
