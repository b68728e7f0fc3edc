/**
 * FLM02 end to end through a socat pty pair: `flm board emulate --protocol flm02` (its own
 * process) -> flm-board (protocol FLM02: sensor table pushed as fsync does, gd once a second)
 * -> flm-sensor -> flm-broker -> an mqtt.js subscriber. 500 board seconds of a varying clamp
 * load and 1,000 pulses at ×20: the counters on the broker equal the board's truth exactly, no
 * pulse lost; a Kube on the board's radio (`u`) comes out as board/kube and as its readings.
 *
 * An FLM02 board has no clock of its own: each gd reply is stamped with the host's poll time, so
 * the speed-up shows as growth per host second, which flm-sensor's running-total limits check
 * (clamp 100 A x 230 V x 2 = 46 kW, 50 pulses/s). ×20 keeps 2000 W and 2 pulses/s inside them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, tempDir, freePort, collect } from '../support/nodered';
import { socatPair } from '../support/pty';
import { repoRoot } from '../support/paths';
import { DEVICE_ID, DEVICE_KEY, sid } from '../support/device';

const cleanups: Array<() => Promise<unknown> | void> = [];
after(async () => {
  await helper.unload();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SPEED = 20;
// FLM02 numbering: sensors 1-3 are clamps, 4-6 pulse inputs
const SENSORS = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 },
  { n: 4, id: sid(4), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  { n: 7, id: sid(7), name: 'hall', type: 'temperature', class: 'kube', kid: 3 },
];

test(
  "FLM02 emulator -> flm-board -> flm-sensor -> broker: counters equal the board's truth, a Kube packet comes through",
  { timeout: 60_000 },
  async () => {
    const dir = await tempDir('flm-board-flm02-e2e-');
    cleanups.push(() => dir.remove());
    const pty = await socatPair(join(dir.path, 'e2eA'), join(dir.path, 'e2eB'));
    cleanups.push(pty.stop);
    const mqttPort = await freePort();

    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, 'dist', 'core', 'cli', 'flm.js'),
        'board',
        'emulate',
        '--protocol',
        'flm02',
        '--port',
        pty.b,
        '--speed',
        String(SPEED),
        '--clamp',
        '1:200-2000@300',
        '--pulses',
        '4:2x1000',
        '--for',
        '510',
        '--kube',
        '3:flk01b,every=100,temperature=19.25',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await waitFor('the emulator to open its end', () => stderr.includes('emulating an FLM02 board'), 10_000);

    await helper.load(
      flmNodes,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir.path, sensors: SENSORS },
        {
          id: 'board',
          type: 'flm-board',
          device: 'dev',
          protocol: 'flm02',
          port: pty.a,
          watchdog: '10',
          wires: [['sensor', 'raw']],
        },
        { id: 'raw', type: 'helper' },
        { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['broker']] },
        { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(mqttPort), wsPort: '', access: 'open' },
      ]),
      { dev: { deviceKey: DEVICE_KEY } },
    );
    const raw = collect('raw');

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

    const code = await exited;
    const emulated = Date.now() - t0;
    assert.equal(code, 0, stderr);
    const { truth, end } = JSON.parse(stdout);
    assert.equal(end, 'finished');
    assert.equal(truth.commits >= 1 && truth.refused, 0, 'the table was committed and no request arrived damaged');
    const board = (i: number) => truth.sensors.find((s: { sensor: number }) => s.sensor === i);
    // the table as fsync sets it: 0.449 × 230 V × 100 A, 1 Wh per pulse, ports 1 and 4 on
    assert.deepEqual(
      [board(0).enabled, board(0).meterconst, board(3).enabled, board(3).meterconst, board(3).fraction],
      [true, 10327, true, 1, 0],
    );
    const clamp = truth.ports.find((p: { port: number }) => p.port === 1);
    const solar = truth.ports.find((p: { port: number }) => p.port === 4);
    assert.equal(solar.pulses, 1000);
    const energy = Math.floor(clamp.pplusWh);
    assert.equal(board(0).counter, energy, 'the board counts whole Wh of the true energy');
    assert.ok(energy > 100, `${energy} Wh in 500 s of 200-2000 W`);

    await waitFor(
      'the published counters to reach the truth',
      () => series(sid(1), 'counter').at(-1)?.[1] === energy && series(sid(4), 'counter').at(-1)?.[1] === 1000,
      10_000,
    );
    for (const s of [sid(1), sid(4)]) {
      const values = series(s, 'counter').map((r) => r[1]);
      assert.ok(values.length > 5, `${s}: ${values.length} counters`);
      assert.ok(
        values.every((v, i) => i === 0 || v > values[i - 1]!),
        `${s}: counters rise, none counted twice`,
      );
    }
    assert.deepEqual([series(sid(1), 'counter').at(-1)![2], series(sid(4), 'counter').at(-1)![2]], ['Wh', 'Wh']);
    assert.ok(
      series(sid(1), 'gauge').length > 5 && series(sid(1), 'gauge').every((g) => g[2] === 'W' && g[1] >= 0),
      'clamp gauges in W',
    );

    // the Kube: its packets as board/kube (the FLM03 shape) and its temperature under the kube sensor
    const kubeMsgs = raw.filter((m) => m.topic === 'board/kube');
    const kube = truth.kubes[0];
    assert.ok(kube.packets >= 3, `${kube.packets} Kube packets`);
    assert.equal(kubeMsgs.length, kube.packets);
    assert.deepEqual(Object.keys(kubeMsgs[0].payload).sort(), ['ack', 'group', 'kind', 'nid', 'payload']);
    assert.deepEqual([kubeMsgs[0].payload.nid, kubeMsgs[0].payload.kind], [3, 'data']);
    await waitFor('the Kube readings', () => series(sid(7), 'gauge').length === kube.packets, 5000);
    assert.deepEqual(series(sid(7), 'gauge').at(-1)!.slice(1), [19.25, '°C']);
    assert.ok(raw.some((m) => m.topic === 'board/availability' && m.payload === 'online'));

    const status = helper
      .getNode('board')
      .status.getCalls()
      .map((c: any) => c.args[0].text)
      .filter(Boolean)
      .at(-1);
    console.log(
      `# flm02 e2e: ${truth.seconds} board seconds at ×${SPEED} in ${(emulated / 1000).toFixed(1)} s; ${energy} Wh, 1000 pulses, ${kube.packets} Kube packets; status "${status}"`,
    );
  },
);
