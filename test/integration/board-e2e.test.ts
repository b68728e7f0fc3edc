/**
 * End to end through a socat pty pair: `flm board emulate` (its own process) -> flm-board ->
 * flm-sensor -> flm-broker -> an mqtt.js subscriber. An hour of a varying clamp load and 10,000
 * pulses in accelerated time: the counters on the broker equal the emulator's truth exactly,
 * and every clamp gauge is within 1 % of the true average power of its second. Two Kubes on the
 * board's radio: their fields arrive under the kube sensors of their node ids, as the emulator
 * sent them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, tempDir, freePort } from '../support/nodered';
import { socatPair } from '../support/pty';
import { repoRoot } from '../support/paths';
import { DEVICE_ID, DEVICE_KEY, sid } from '../support/device';

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  await helper.unload();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SPEED = 150;
const SENSORS = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 },
  { n: 2, id: sid(2), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  { n: 3, id: sid(3), name: 'hall', type: 'temperature', class: 'kube', kid: 3 },
  { n: 4, id: sid(4), name: 'hall motion', type: 'movement', class: 'kube', kid: 3 },
  { n: 5, id: sid(5), name: 'attic', type: 'humidity', class: 'kube', kid: 4 },
];

test(
  'emulator -> flm-board -> flm-sensor -> broker: an hour of clamp load and 10,000 pulses, counters exact, gauges within 1 %',
  { timeout: 120_000 },
  async () => {
    const dir = await tempDir('flm-board-e2e-');
    cleanups.push(() => dir.remove());
    const pty = await socatPair(join(dir.path, 'e2eA'), join(dir.path, 'e2eB'));
    cleanups.push(pty.stop);
    const mqttPort = await freePort();
    await helper.load(
      flmNodes,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir.path, sensors: SENSORS },
        { id: 'board', type: 'flm-board', device: 'dev', port: pty.a, watchdog: '10', wires: [['sensor']] },
        { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['broker']] },
        { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(mqttPort), wsPort: '', access: 'open' },
      ]),
      { dev: { deviceKey: DEVICE_KEY } },
    );

    const broker = helper.getNode('broker');
    await waitFor(
      'the broker to listen',
      () => broker.status.getCalls().some((c: any) => c.args[0].fill === 'green'),
      5000,
    );
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync(true));
    const got = new Map<string, Array<[number, number, string]>>();
    client.on('message', (topic, payload) => {
      const list = got.get(topic) ?? [];
      list.push(JSON.parse(payload.toString()));
      got.set(topic, list);
    });
    await client.subscribeAsync('/sensor/#');
    const series = (s: string, kind: string) => got.get(`/sensor/${s}/${kind}`) ?? [];

    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'dist', 'core', 'cli', 'flm.js'),
        'board',
        'emulate',
        '--port',
        pty.b,
        '--speed',
        String(SPEED),
        '--clamp',
        '1:200-5200@900',
        '--pulses',
        '4:3x10000',
        '--for',
        '3600',
        '--history',
        // every 600 board seconds is 4 s here: each packet in a host second of its own
        '--kube',
        '3:flk01b,every=600,temperature=19.25,motion=3,ack',
        '--kube',
        '4:flk01a,every=600,humidity=63.5',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    const emulated = Date.now() - t0;
    assert.equal(code, 0, stderr);
    const { truth, end } = JSON.parse(stdout);
    assert.equal(end, 'finished');
    const clamp = truth.ports.find((p: { port: number }) => p.port === 1);
    const solar = truth.ports.find((p: { port: number }) => p.port === 4);
    assert.equal(solar.pulses, 10_000);

    const energy = Math.floor(clamp.pplusWh);
    await waitFor(
      'the published counters to reach the truth',
      () => series(sid(1), 'counter').at(-1)?.[1] === energy && series(sid(2), 'counter').at(-1)?.[1] === 10_000,
      20_000,
    );
    const counted = Date.now() - t0;
    // counters only go up, and the last is the truth: no pulse lost, none counted twice
    for (const s of [sid(1), sid(2)]) {
      const values = series(s, 'counter').map((r) => r[1]);
      assert.ok(
        values.every((v, i) => i === 0 || v > values[i - 1]!),
        `${s}: counters rise`,
      );
    }
    assert.equal(series(sid(2), 'counter').at(-1)![2], 'Wh');

    const truePower = new Map<number, number>(clamp.history);
    const gauges = series(sid(1), 'gauge');
    assert.ok(gauges.length >= 3590, `${gauges.length} clamp gauges for an hour`);
    let worst = 0;
    for (const [ts, watts, unit] of gauges) {
      const w = truePower.get(ts);
      assert.ok(w !== undefined, `a gauge for board second ${ts} the emulator did not report`);
      assert.equal(unit, 'W');
      const err = Math.abs(watts - w) / Math.max(Math.abs(w), 1);
      worst = Math.max(worst, err);
      assert.ok(err <= 0.01, `second ${ts}: ${watts} W against a true ${w} W`);
    }
    // 3 pulses of 1 Wh a second are 10,800 W while the train runs
    const lastPulse = series(sid(2), 'counter').at(-1)![0];
    const pulseGauges = series(sid(2), 'gauge').filter(([ts]) => ts < lastPulse);
    assert.ok(pulseGauges.length > 3000);
    for (const [ts, watts] of pulseGauges) assert.ok(Math.abs(watts - 10_800) <= 108, `solar ${watts} W at ${ts}`);

    const kube = (nid: number, field: string) =>
      truth.kubes.find((k: { nid: number }) => k.nid === nid).fields.find((f: { field: string }) => f.field === field);
    const rounds = truth.kubes.find((k: { nid: number }) => k.nid === 4).packets;
    assert.ok(rounds >= 6, `${rounds} Kube rounds in an hour at one every 600 s`);
    await waitFor(
      'the last Kube round',
      () => series(sid(4), 'counter').length === rounds && series(sid(5), 'gauge').length === rounds,
      5000,
    );
    assert.deepEqual(
      [kube(3, 'temperature').value, kube(3, 'movement').value, kube(4, 'humidity').value],
      [19.25, 3 * rounds, 63.5],
    );
    assert.deepEqual(series(sid(3), 'gauge').at(-1)!.slice(1), [19.25, '°C']);
    assert.deepEqual(series(sid(3), 'gauge').length, rounds, 'one temperature a packet');
    assert.deepEqual(
      series(sid(4), 'counter').map((r) => r[1]),
      Array.from({ length: rounds }, (_, i) => 3 * (i + 1)),
      'the PIR count, every packet',
    );
    assert.deepEqual(series(sid(5), 'gauge').at(-1)!.slice(1), [63.5, '%']);
    assert.equal(got.has(`/sensor/${sid(3)}/counter`), false, 'a temperature is a gauge only');
    console.log(
      `# e2e: an hour of board time at ×${SPEED} in ${(emulated / 1000).toFixed(1)} s, counters at the truth after ${(counted / 1000).toFixed(1)} s; ` +
        `${energy} Wh, 10000 pulses; ${gauges.length} clamp gauges, worst error ${(worst * 100).toFixed(4)} %`,
    );
  },
);
