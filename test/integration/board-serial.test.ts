/**
 * flm-board on real pseudo-terminals (socat), against the board emulator driving the other end:
 * the board is configured from the sensor table when it pings, its frames become batches and
 * readings, noise and a damaged frame are counted, a dead board trips the watchdog and a board
 * that comes back is reconnected to with nothing lost; a board clock an hour off is stepped.
 * Also `flm board sniff` and `flm board emulate` on a pty.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, realpathSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { helper, flmNodes, onTab, waitFor, collect, tempDir } from '../support/nodered';
import { socatPair, fdsOn, type Pty } from '../support/pty';
import { runFlm } from '../support/cli';
import { DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { BoardEmulator, type EmulatorOptions } from '../../core/flx/emulator';
import { EmulatorPort } from '../../core/flx/emulator-port';
import { encodeFlm03Frame } from '../../core/flx/flm03-frame';
import { callsOf, lastStatusOf as lastStatus } from '../support/node-calls';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  await helper.unload();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const creds = { dev: { deviceKey: DEVICE_KEY } };
const SENSORS = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 },
  { n: 2, id: sid(2), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  { n: 3, id: sid(3), name: 'water', type: 'water', class: 'pulse', port: [6], constant: 0.5 },
];

async function pty(dir: string, name: string): Promise<Pty> {
  const p = await socatPair(join(dir, `${name}A`), join(dir, `${name}B`));
  cleanups.push(p.stop);
  return p;
}

async function board(path: string, emulator: BoardEmulator, speed = 1): Promise<EmulatorPort> {
  const port = new EmulatorPort(emulator, { path, speed });
  await port.start();
  cleanups.push(() => port.stop());
  return port;
}

function flow(dataDir: string, port: string, extra: Record<string, unknown> = {}) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: SENSORS },
    {
      id: 'board',
      type: 'flm-board',
      device: 'dev',
      port,
      baud: '460800',
      watchdog: '1.5',
      wires: [['out', 'sensor']],
      ...extra,
    },
    { id: 'out', type: 'helper' },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['readings']] },
    { id: 'readings', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

const lastValue = (msgs: any[], s: string, kind: 'counter' | 'gauge') =>
  msgs.filter((m) => m.topic === `/sensor/${s}/${kind}`).at(-1)?.payload[1];

const emulatorOptions = (extra: EmulatorOptions = {}): EmulatorOptions => ({
  start: Date.now(),
  clamps: [{ port: 1, watts: 1800 }],
  pulses: [
    { port: 4, rate: 5 },
    { port: 6, rate: 2 },
  ],
  ...extra,
});

test(
  'flm-board through a socat pty: config on ping, batches to flm-sensor, bad frames counted, watchdog, reconnect with nothing lost',
  { timeout: 90_000 },
  async () => {
    const dir = await tempDir('flm-board-pty-');
    cleanups.push(() => dir.remove());
    let p = await pty(dir.path, 'board');
    // 40 board seconds of load at ×4, spread over the two connections
    const emulator = new BoardEmulator(emulatorOptions({ durationS: 40 }));
    let port = await board(p.b, emulator, 4);
    await helper.load(flmNodes, flow(dir.path, p.a), creds);
    const node = helper.getNode('board');
    const out = collect('out');
    const readings = collect('readings');
    const caught = collect('caught');

    // The board pinged, or heard the config sent when the port opened: either way it is configured from the table.
    await waitFor('the board configured', () => emulator.configured, 5000);
    const cfg = emulator.portConfig!;
    assert.deepEqual(
      cfg.ports.map((x) => [x.enable, x.current, x.constant, x.fraction]),
      [
        [true, 1, 0, 0],
        [false, 0, 0, 0],
        [false, 0, 0, 0],
        [true, 0, 1, 0],
        [false, 0, 0, 0],
        [true, 0, 0, 500],
        [false, 0, 0, 0],
      ],
    );
    await waitFor('online', () => out.find((m) => m.topic === 'board/availability' && m.payload === 'online'), 5000);
    await waitFor('clamp power', () => lastValue(readings, sid(1), 'gauge') === 1800, 5000);
    await waitFor(
      'solar and water counters',
      () => lastValue(readings, sid(2), 'counter') >= 5 && lastValue(readings, sid(3), 'counter') >= 1,
      5000,
    );
    const batch = out.find((m) => m.topic === 'board/batch' && m.payload.records.some((r: any) => r.port === 1));
    assert.equal(batch.payload.records.filter((r: any) => r.port === 1).length, 18);
    await waitFor(
      'a green status with counts',
      () => /^\d+ frames · \d+ batches$/.test(lastStatus(node).text ?? '') && lastStatus(node).fill === 'green',
      5000,
    );

    // Line noise and a frame with a broken checksum, written beside the board.
    const fd = openSync(p.b, constants.O_WRONLY | constants.O_NOCTTY);
    const damaged = encodeFlm03Frame(9, new Uint8Array(20));
    damaged[12]! ^= 0x40;
    writeSync(fd, Buffer.concat([Buffer.from([0x00, 0xff, 0x13]), damaged]));
    closeSync(fd);
    await waitFor(
      'the bad frame in the status',
      () => /^\d+ frames · 1 bad · \d+ batches$/.test(lastStatus(node).text ?? ''),
      5000,
    );
    assert.deepEqual(caught, []);

    // The board goes away (its port and the pty): silence, the watchdog, offline.
    await port.stop();
    await p.stop();
    await waitFor(
      'the watchdog',
      () => lastStatus(node).fill === 'yellow' && /^no data for \d+ s/.test(lastStatus(node).text ?? ''),
      5000,
    );
    await waitFor('offline', () => out.find((m) => m.topic === 'board/availability' && m.payload === 'offline'), 5000);

    // It comes back on the same path, with its totals: the node reconnects, sends the config again, and counts on.
    p = await pty(dir.path, 'board');
    port = await board(p.b, emulator, 4);
    await waitFor('the config sent again on reconnect', () => emulator.truth().configsReceived >= 2, 40_000);
    await waitFor('online again', () => out.filter((m) => m.payload === 'online').length === 2, 10_000);
    assert.equal(await port.done, 'finished');
    const truth = emulator.truth();
    assert.equal(
      truth.ports.find((x) => x.port === 4)!.pulses,
      199,
      '5 a second for 40 s, the one on the end excluded',
    );
    const total = (n: number) => truth.ports.find((x) => x.port === n)!.total;
    const energy = Math.floor(truth.ports.find((x) => x.port === 1)!.pplusWh!);
    // the last board second goes out once the line has been quiet for a moment
    await waitFor(
      "the published counters equal the board's totals",
      () =>
        lastValue(readings, sid(2), 'counter') === total(4) &&
        lastValue(readings, sid(3), 'counter') === total(6) &&
        lastValue(readings, sid(1), 'counter') === energy,
      5000,
    );
    assert.deepEqual(
      out.filter((m) => m.topic === 'board/availability').map((m) => m.payload),
      ['online', 'offline', 'online'],
    );
    assert.equal(truth.timeSteps, 0, 'the board clock was right');

    const device = realpathSync(p.a);
    assert.equal(fdsOn(device), 1, 'the node holds the pty open');
    await helper.unload();
    assert.equal(fdsOn(device), 0, 'the pty is released after close');
  },
);

test(
  "flm-board: a board clock an hour off is set to the host's; an unset ${FLM_SERIAL_PORT} leaves the node idle and grey",
  { timeout: 30_000 },
  async () => {
    const dir = await tempDir('flm-board-time-');
    cleanups.push(() => dir.remove());
    const p = await pty(dir.path, 'clock');
    const emulator = new BoardEmulator(emulatorOptions({ start: Date.now() - 3_600_000 }));
    await board(p.b, emulator);
    await helper.load(flmNodes, flow(dir.path, p.a), creds);
    const node = helper.getNode('board');
    const out = collect('out');
    const time = await waitFor('board/time', () => out.find((m) => m.topic === 'board/time'), 5000);
    assert.equal(time.payload.action, 'step-board');
    assert.equal(time.payload.flx.update, true);
    await waitFor('the board stepped', () => emulator.truth().timeSteps === 1, 5000);
    assert.ok(Math.abs(emulator.boardTime - Date.now()) < 2000, 'the board clock now agrees with the host');
    await waitFor('the note in the status', () => / · clock set$/.test(lastStatus(node).text ?? ''), 5000);
    assert.ok(callsOf(node, 'log').some(([t]) => /^board clock -360[01] s off: set to /.test(t)));
    // readings after the step carry host time
    const readings = collect('readings');
    const g = await waitFor('a gauge', () => readings.find((m) => m.topic === `/sensor/${sid(1)}/gauge`), 5000);
    assert.ok(Math.abs(g.payload[0] - Date.now() / 1000) < 5, `gauge stamped ${g.payload[0]}`);
    await helper.unload();

    await helper.load(flmNodes, flow(dir.path, '${FLM_SERIAL_PORT}'), creds);
    const idle = helper.getNode('board');
    await waitFor(
      'grey',
      () => lastStatus(idle).text === 'no serial port set' && lastStatus(idle).fill === 'grey',
      5000,
    );
    assert.equal(idle.error.called, false);
    assert.equal(idle.warn.called, false);
  },
);

test(
  'flm board sniff prints a JSON line per frame and statistics; flm board emulate prints its truth',
  { timeout: 30_000 },
  async () => {
    const dir = await tempDir('flm-board-cli-');
    cleanups.push(() => dir.remove());
    const p = await pty(dir.path, 'cli');
    const emulating = runFlm([
      'board',
      'emulate',
      '--port',
      p.b,
      '--configured',
      '--speed',
      '20',
      '--clamp',
      '1:-500',
      '--pulses',
      '5:4',
      '--for',
      '30',
      '--seconds',
      '10',
    ]);
    await sleep(200);
    const sniff = await runFlm(['board', 'sniff', '--port', p.a, '--seconds', '1.5']);
    const emulate = await emulating;
    assert.equal(sniff.code, 0, sniff.err);
    assert.match(sniff.err, new RegExp(`^reading ${p.a} 460800 8N1 for 1.5 s`));
    const lines = sniff.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const frames = lines.slice(0, -1);
    const { stats, end } = lines.at(-1);
    assert.equal(end, 'time is up');
    assert.equal(stats.frames, frames.length);
    assert.equal(stats.badChecksum, 0);
    const ct = frames.find((f) => f.type === 'ct_data');
    assert.deepEqual(Object.keys(ct), ['seen', 'type', 'time', 'millis', 'port', 'counters', 'gauges']);
    assert.equal(ct.port, 1);
    assert.equal(ct.gauges.pminus, 500, 'an exporting load counts on pminus');
    assert.equal(ct.gauges.pplus, 0);
    const pulses = frames.filter((f) => f.type === 'pulse_data');
    assert.ok(pulses.length > 0 && pulses.every((f) => f.port === 5));

    assert.equal(emulate.code, 0, emulate.err);
    assert.match(
      emulate.err,
      new RegExp(`^emulating an FLM03 board on ${p.b} 460800 8N1, 1 clamp\\(s\\), 1 pulse train\\(s\\), ×20`),
    );
    const result = JSON.parse(emulate.out);
    assert.equal(result.end, 'finished', '30 board seconds take 1.5 s at ×20');
    assert.deepEqual(
      result.truth.ports.find((x: any) => x.port === 5),
      { port: 5, pulses: 119, total: 119 },
      '4 a second for 30 s, the one on the end excluded',
    );
    assert.ok(result.truth.ports.find((x: any) => x.port === 1).pminusWh > 0);
    // the sniffer read for 1.5 s from 0.2 s on: it saw the end of the run, so the board's last total
    assert.equal(pulses.at(-1).counter, 119);

    const missing = await runFlm(['board', 'sniff', '--port', join(dir.path, 'nothing'), '--seconds', '1']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot open .*nothing 460800 8N1: .*No such file or directory/);
    const nobody = await runFlm(['board', 'emulate', '--port', p.b, '--seconds', '0.3']);
    assert.equal(nobody.code, 1);
    assert.match(nobody.err, /no host configured the board/);
  },
);

test(
  'flm-board: 100 redeploys on a live board: the port is released every time, the board configured every time, no error',
  { timeout: 120_000 },
  async () => {
    const dir = await tempDir('flm-board-redeploy-');
    cleanups.push(() => dir.remove());
    const p = await pty(dir.path, 'again');
    const emulator = new BoardEmulator(emulatorOptions());
    await board(p.b, emulator, 10);
    const device = realpathSync(p.a);
    const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    let before = 0;
    for (let i = 0; i < 100; i++) {
      await helper.load(flmNodes, flow(dir.path, p.a), creds);
      const node = helper.getNode('board');
      await waitFor(
        `connection ${i + 1}`,
        () => callsOf(node, 'log').some(([t]) => /^reading the FLM board on /.test(t)),
        5000,
      );
      assert.equal(node.error.called, false, `deploy ${i + 1}: ${node.error.firstCall?.args[0]}`);
      // the port config goes out when the port opens; a close right after the open may race it
      await waitFor(`the board configured by deploy ${i + 1}`, () => emulator.truth().configsReceived >= i + 1, 5000);
      await helper.unload();
      assert.equal(fdsOn(device), 0, `deploy ${i + 1} released the pty`);
      if (i === 9) before = handles();
    }
    assert.ok(
      emulator.truth().configsReceived >= 100,
      `${emulator.truth().configsReceived} configs for 100 connections`,
    );
    assert.ok(handles() <= before + 2, `open handles ${before} after 10 deploys, ${handles()} after 100`);
  },
);
