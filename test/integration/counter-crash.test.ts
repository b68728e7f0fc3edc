/**
 * `npm start` (the simulator) killed with SIGKILL at random moments, at speed 1 and 60, and
 * started again on the same data dir each time: over all runs no published counter of any
 * sensor ever goes down, neither for a subscriber that stays through a run, nor for what a new
 * subscriber gets first after a restart (the retained value) or when it joins mid-run.
 * The seed is printed; FLM_CRASH_SEED=<seed> repeats the same kill moments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { startPipeline, type PipelinePlace } from '../support/start-pipeline';
import { untilListening } from '../support/net';
import { prng } from '../../core/util/prng';

const RUNS = 20;
const DEVICE_ID = '00112233445566778899aabbccddeeff';
/** Kills land up to this long after the run's first counter (or, one run in five, after the broker opened). */
const KILL_WINDOW_MS = 2000;

type Payload = [number, number, string];

interface Watcher {
  name: string;
  /** per topic, the values in the order they arrived */
  values: Map<string, number[]>;
  /** every message as it came, for the failure message */
  log: string[];
  close: () => Promise<void>;
}

async function watch(port: number, name: string): Promise<Watcher> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  const values = new Map<string, number[]>();
  const log: string[] = [];
  client.on('message', (topic, payload, packet) => {
    const list = values.get(topic) ?? [];
    const p = JSON.parse(payload.toString()) as Payload;
    list.push(p[1]);
    log.push(`${topic.slice(8, 12)} ${p[0]} ${p[1]}${packet.retain ? ' retained' : ''}`);
    values.set(topic, list);
  });
  client.on('error', () => undefined);
  await client.subscribeAsync('/sensor/+/counter');
  return {
    name,
    values,
    log,
    close: () =>
      client.endAsync(true).then(
        () => undefined,
        () => undefined,
      ),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  `${RUNS} SIGKILLs of npm start at random moments (speed 1 and 60): published counters never go down, for live and new subscribers`,
  { timeout: 240_000 },
  async () => {
    const seed = Number(process.env.FLM_CRASH_SEED) || Math.floor(Math.random() * 2 ** 31);
    console.log(`counter crash test: seed ${seed} (FLM_CRASH_SEED=${seed} repeats it)`);
    const rnd = prng(seed);
    const problems: string[] = [];
    /** per topic, the highest value any subscriber got in the runs before */
    const before = new Map<string, number>();
    const jumps: number[] = [];
    let place: PipelinePlace | undefined;
    let runsWithCounters = 0;
    try {
      for (let i = 0; i < RUNS; i++) {
        const speed = i % 2 === 0 ? 1 : 60;
        const p = await startPipeline({ FLM_DEVICE_ID: DEVICE_ID, FLM_SIM_SPEED: String(speed) }, place);
        place = p;
        const watchers: Watcher[] = [];
        try {
          await untilListening(p.mqttPort, p.run.output);
          watchers.push(await watch(p.mqttPort, `run ${i} (speed ${speed})`));
          const fromOpen = rnd() < 0.2;
          const killAfter = Math.floor(rnd() * KILL_WINDOW_MS);
          const joinAt = Math.floor(rnd() * KILL_WINDOW_MS);
          if (!fromOpen) {
            const t0 = Date.now();
            while (watchers[0]!.values.size === 0 && Date.now() - t0 < 30_000 && p.run.proc.exitCode === null)
              await sleep(20);
            assert.ok(watchers[0]!.values.size > 0, `run ${i}: no counter within 30 s\n${p.run.output()}`);
          }
          const t1 = Date.now();
          let joined = false;
          while (Date.now() - t1 < killAfter) {
            if (!joined && Date.now() - t1 >= joinAt) {
              joined = true;
              watchers.push(await watch(p.mqttPort, `run ${i} late joiner`).catch(() => watchers[0]!));
            }
            await sleep(10);
          }
          p.run.proc.kill('SIGKILL');
          await p.run.exited;
        } finally {
          await p.run.stop(2000);
          await Promise.all(watchers.map((w) => w.close()));
        }
        if (watchers[0]!.values.size > 0) runsWithCounters++;
        const high = new Map<string, number>();
        for (const w of new Set(watchers)) {
          for (const [topic, list] of w.values) {
            const floor = before.get(topic) ?? -Infinity;
            if (list[0]! < floor)
              problems.push(`${w.name}: ${topic} first got ${list[0]}, below ${floor} published before the kill`);
            else if (Number.isFinite(floor) && w === watchers[0]) jumps.push(list[0]! - floor);
            for (let k = 1; k < list.length; k++) {
              if (list[k]! < list[k - 1]!)
                problems.push(`${w.name}: ${topic} went from ${list[k - 1]} to ${list[k]}; got: ${w.log.join(', ')}`);
            }
            high.set(topic, Math.max(high.get(topic) ?? -Infinity, ...list));
          }
        }
        for (const [topic, v] of high) before.set(topic, Math.max(before.get(topic) ?? -Infinity, v));
      }
    } finally {
      await place?.dir.remove();
    }
    console.log(
      `counter crash test: ${runsWithCounters} runs published counters; ${before.size} counters; first value after a restart was above the last before by at most ${Math.max(0, ...jumps)} (median ${jumps.sort((a, b) => a - b)[Math.floor(jumps.length / 2)] ?? 0})`,
    );
    assert.deepEqual(problems, [], `seed ${seed}`);
    assert.ok(runsWithCounters >= RUNS / 2, `only ${runsWithCounters} runs published counters`);
    assert.ok(before.size >= 3, `counters of ${before.size} sensors seen`);
  },
);
