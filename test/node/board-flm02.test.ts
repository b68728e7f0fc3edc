/**
 * flm-board with protocol FLM02 against the FLM02 emulator on a socat pty (in this process, so
 * the test can reach into the board): the table is pushed and committed, batches and status
 * follow the polls, garbage on the line is counted and polling goes on, a board reset that
 * loses counts gets its counter written back; flows without `protocol` stay FLM03.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, realpathSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { helper, flmNodes, onTab, waitFor, collect, tempDir } from '../support/nodered';
import { socatPair, fdsOn, type Pty } from '../support/pty';
import { DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { Flm02Emulator } from '../../core/flx/flm02-emulator';
import { BoardEmulator } from '../../core/flx/emulator';
import { EmulatorPort, type EmulatedBoard } from '../../core/flx/emulator-port';
import { callsOf, lastStatusOf as lastStatus } from '../support/node-calls';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  await helper.unload();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const creds = { dev: { deviceKey: DEVICE_KEY } };
const SENSORS = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 },
  { n: 4, id: sid(4), name: 'water', type: 'water', class: 'pulse', port: [4], constant: 0.5 },
];

async function setup(extra: Record<string, unknown>): Promise<{ dir: string; pty: Pty }> {
  const dir = await tempDir('flm-board-flm02-');
  cleanups.push(() => dir.remove());
  const pty = await socatPair(join(dir.path, 'A'), join(dir.path, 'B'));
  cleanups.push(pty.stop);
  await helper.load(
    flmNodes,
    onTab([
      { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir.path, sensors: SENSORS },
      {
        id: 'board',
        type: 'flm-board',
        device: 'dev',
        port: pty.a,
        watchdog: '5',
        wires: [['out', 'sensor']],
        ...extra,
      },
      { id: 'out', type: 'helper' },
      { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['readings']] },
      { id: 'readings', type: 'helper' },
    ]),
    creds,
  );
  return { dir: dir.path, pty };
}

async function run<B extends EmulatedBoard>(path: string, emulator: B, speed: number): Promise<EmulatorPort<B>> {
  const port = new EmulatorPort(emulator, { path, speed, baudRate: 115200, stopWhenFinished: false });
  await port.start();
  cleanups.push(() => port.stop());
  return port;
}

const counters = (msgs: any[], s: string): number[] =>
  msgs.filter((m) => m.topic === `/sensor/${s}/counter`).map((m) => m.payload[1]);

test(
  'FLM02: the table is committed, polls give batches and readings, garbage is counted, a reset that loses counts is written back',
  { timeout: 60_000 },
  async () => {
    const { pty } = await setup({ protocol: 'flm02', baud: '115200' });
    const emulator = new Flm02Emulator({ clamps: [{ port: 1, watts: 3600 }], pulses: [{ port: 4, rate: 2 }] });
    await run(pty.b, emulator, 10);
    const node = helper.getNode('board');
    const out = collect('out');
    const readings = collect('readings');

    await waitFor('the sensor table on the board', () => emulator.configured, 10_000);
    const t = emulator.truth();
    assert.deepEqual(
      t.sensors.map((s) => [s.enabled, s.meterconst, s.fraction]),
      [
        [true, Math.floor(0.449 * 230 * 100), 0],
        [false, 0, 0],
        [false, 0, 0],
        [true, 0, 500],
        [false, 0, 0],
        [false, 0, 0],
      ],
      'clamp 1 at 100 A; water at 0 + 500/1000 L a pulse',
    );
    await waitFor('three batches', () => out.filter((m) => m.topic === 'board/batch').length >= 3, 10_000);
    await waitFor(
      'a green status',
      () => /^\d+ replies · \d+ batches$/.test(lastStatus(node).text ?? '') && lastStatus(node).fill === 'green',
      5000,
    );
    assert.ok(out.some((m) => m.topic === 'board/availability' && m.payload === 'online'));
    const batch = out.find((m) => m.topic === 'board/batch' && m.payload.records.length >= 3)!.payload;
    assert.deepEqual(batch.records.map((r: any) => `${r.kind}:${r.port}`).sort(), [
      'counter:1',
      'counter:4',
      'gauge:1',
    ]);
    await waitFor('water counted in half litres', () => counters(readings, sid(4)).some((v) => v % 1 === 0.5), 10_000);

    // garbage on the line instead of a reply: dropped, counted, the next poll works
    const fd = openSync(pty.b, constants.O_WRONLY | constants.O_NOCTTY);
    writeSync(fd, Buffer.from('\x07noise\0', 'latin1'));
    closeSync(fd);
    await waitFor('the bad read in the status', () => / · [1-9]\d* bad/.test(lastStatus(node).text ?? ''), 5000);
    const after = out.filter((m) => m.topic === 'board/batch').length;
    await waitFor('polling goes on', () => out.filter((m) => m.topic === 'board/batch').length >= after + 2, 5000);

    // a watchdog reset: RAM back to the last ct, so the counters fall back; the node writes them back
    const before = Math.max(...counters(readings, sid(1)));
    const seenBefore = emulator.truth().sensors[0]!.counter;
    emulator.reset();
    assert.ok(emulator.truth().sensors[0]!.counter < seenBefore);
    await waitFor(
      'the counter written back',
      () => emulator.truth().commits >= 2 && emulator.truth().sensors[0]!.counter >= seenBefore,
      10_000,
    );
    await waitFor('counting on past the old total', () => Math.max(...counters(readings, sid(1))) > before + 2, 10_000);
    const published = counters(readings, sid(1));
    assert.ok(
      published.every((v, i) => i === 0 || v >= published[i - 1]!),
      'the published counter never went back',
    );
    assert.ok(published.at(-1)! < before + 100, "nor jumped by the board's whole total");
    assert.ok(callsOf(node, 'warn').some(([w]) => /counter went back/.test(String(w))));
    assert.ok(callsOf(node, 'log').some(([l]) => /counter set back and committed/.test(String(l))));
  },
);

test('a flow without a protocol setting talks FLM03: the board gets its port_config', { timeout: 30_000 }, async () => {
  const { pty } = await setup({ baud: '460800' });
  const emulator = new BoardEmulator({ clamps: [{ port: 1, watts: 500 }] });
  const port = new EmulatorPort(emulator, { path: pty.b, speed: 1, baudRate: 460800, stopWhenFinished: false });
  await port.start();
  cleanups.push(() => port.stop());
  await waitFor('the FLM03 port_config', () => emulator.truth().configsReceived >= 1, 10_000);
  await waitFor(
    'frames in the status',
    () => /^\d+ frames/.test(lastStatus(helper.getNode('board')).text ?? ''),
    10_000,
  );
});

test('an unknown protocol is a red status, not a crash', async () => {
  await setup({ protocol: 'flm04' });
  const node = helper.getNode('board');
  await waitFor('a red status', () => lastStatus(node).fill === 'red', 5000);
  assert.match(lastStatus(node).text ?? '', /protocol/);
});

test(
  'FLM02: 30 redeploys on a live board: the table committed every time, the port and the poll timer released every time',
  { timeout: 60_000 },
  async () => {
    const { pty } = await setup({ protocol: 'flm02' });
    const emulator = new Flm02Emulator({ pulses: [{ port: 4, rate: 5 }] });
    await run(pty.b, emulator, 1);
    const device = realpathSync(pty.a);
    const handles = () => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
    let before = 0;
    for (let i = 0; i < 30; i++) {
      if (i > 0)
        await helper.load(
          flmNodes,
          onTab([
            { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: join(pty.a, '..'), sensors: SENSORS },
            { id: 'board', type: 'flm-board', device: 'dev', protocol: 'flm02', port: pty.a, watchdog: '5', wires: [] },
          ]),
          creds,
        );
      const node = helper.getNode('board');
      await waitFor(`the table committed by deploy ${i + 1}`, () => emulator.truth().commits >= i + 1, 5000);
      assert.equal(node.error.called, false, `deploy ${i + 1}: ${node.error.firstCall?.args[0]}`);
      await helper.unload();
      assert.equal(fdsOn(device), 0, `deploy ${i + 1} released the pty`);
      if (i === 9) before = handles();
    }
    assert.ok(handles() <= before + 2, `open handles ${before} after 10 deploys, ${handles()} after 30`);
  },
);
