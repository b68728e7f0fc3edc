/**
 * flm-in: readings per second through the importer (topic parse, the loose payload
 * forms, sensor lookup, message in the contract) for a 64-sensor FLM, against a bare
 * JSON.parse of the same payloads in the same run. An FLM publishes at most a few hundred
 * readings a second; goals: at least 100,000 readings/s per core, within 10x of JSON.parse.
 */
import { ReadingImporter } from '../core/mqtt/importer';
import { deviceConfigTopic, sensorTopic } from '../core/mqtt/topics';
import { systemClock } from '../core/util/clock';
import { fmt, goal } from './support';

const N = 200_000;
const SENSORS = 64;
const DEVICE = '0123456789abcdef0123456789abcdef';
const sid = (n: number) => n.toString(16).padStart(32, 'a');

function main() {
  const config: Record<string, unknown> = { main: { phase: 1 } };
  for (let i = 1; i <= SENSORS; i++)
    config[String(i)] = {
      id: sid(i),
      type: i % 2 ? 'electricity' : 'water',
      function: `s${i}`,
      class: 'analog',
      enable: 1,
    };
  const importer = new ReadingImporter({ clock: systemClock, graceMs: 0 });
  importer.connected();
  importer.config(deviceConfigTopic(DEVICE), JSON.stringify(config));
  const forms = (i: number) =>
    [`[1750000000,${i % 5000},"W"]`, `[1750000000, ${i % 5000}.5, "Wh"]`, `${i % 5000}`, `[${i % 5000},"W"]`][i % 4]!;
  const topics = Array.from({ length: SENSORS }, (_, i) => sensorTopic(sid(i + 1), i % 3 ? 'gauge' : 'counter'));
  const payloads = Array.from({ length: 1000 }, (_, i) => Buffer.from(forms(i)));

  const imported = () => {
    let out = 0;
    for (let i = 0; i < N; i++)
      if (importer.reading(topics[i % SENSORS]!, payloads[i % 1000]!, false).kind === 'out') out++;
    return out;
  };
  const parsed = () => {
    let n = 0;
    for (let i = 0; i < N; i++) if (JSON.parse(payloads[i % 1000]!.toString('utf8')) !== undefined) n++;
    return n;
  };
  const time = (fn: () => number) =>
    Math.min(
      ...[0, 1, 2].map(() => {
        const t0 = process.hrtime.bigint();
        if (fn() !== N) throw new Error('not every reading came out');
        return Number(process.hrtime.bigint() - t0) / 1e6;
      }),
    );
  imported();
  parsed();
  const a = time(imported);
  const b = time(parsed);
  const rate = N / (a / 1000);
  console.log(`${N} readings of ${SENSORS} sensors, four payload forms`);
  console.log(`importer: ${fmt(rate, 0)} readings/s`);
  console.log(`JSON.parse of the same payloads: ${fmt(N / (b / 1000), 0)} payloads/s`);
  goal('ratio importer / JSON.parse time', a / b, '<=', 10, { digits: 1, unit: 'x' });
  goal('importer readings/s per core', rate, '>=', 100_000, { digits: 0 });
}

main();
