/**
 * `npm start` with FLM_SOURCE: the default flow reads a real P1 meter (a TCP dongle or a serial
 * cable, here a TCP server and a socat pty on 127.0.0.1) instead of simulating, and a source
 * that cannot start is refused before Node-RED starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { tempDir, waitFor } from '../support/nodered';
import { startPipeline } from '../support/start-pipeline';
import { start } from '../support/processes';
import { repoRoot } from '../support/paths';
import { untilListening } from '../support/net';
import { socatPair } from '../support/pty';
import { fixture } from '../unit/p1/fixtures';
import { deriveSensorId } from '../../core/config/identity';

const DEVICE_ID = '00112233445566778899aabbccddeeff';
/** dsmr5-nl.txt, read by hand: 4.426 + 2.399 − 2.444 − 0 kWh, 0.244 kW imported, gas 0.107 m³ at 16:10:05 (W) */
const NET_WH = 4381;
const NET_W = 244;
const GAS_L = 107;
const GAS_TS = Date.UTC(2017, 0, 2, 15, 10, 5) / 1000;
const TELEGRAM = fixture('dsmr5-nl.txt');
const SIMULATOR_SIDS = ['1', '2', '3', '4'].map((n) => deriveSensorId(DEVICE_ID, n));

type Reading = [number, number, string];

/** Everything published under /sensor/# on the pipeline's broker, as topic → last payload. */
async function watchReadings(port: number) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const seen = new Map<string, Reading>();
  client.on('message', (topic, payload) => seen.set(topic, JSON.parse(payload.toString()) as Reading));
  await client.subscribeAsync('/sensor/#');
  return { seen, close: () => client.endAsync() };
}

async function expectMeterReadings(mqttPort: number, output: () => string): Promise<void> {
  await untilListening(mqttPort, output);
  const sub = await watchReadings(mqttPort);
  try {
    const values = () => [...sub.seen.values()];
    await waitFor(
      'net power, net counter and gas from the meter',
      () =>
        values().some((r) => r[1] === NET_W && r[2] === 'W') &&
        values().some((r) => r[1] === NET_WH && r[2] === 'Wh') &&
        values().some((r) => r[1] === GAS_L && r[2] === 'L'),
      30_000,
      100,
    );
    const gas = values().find((r) => r[2] === 'L')!;
    assert.equal(gas[0], GAS_TS, 'gas stamped with the meter capture time');
    for (const topic of sub.seen.keys()) {
      const sid = topic.split('/')[2]!;
      assert.ok(!SIMULATOR_SIDS.includes(sid), `the simulator is in standby, yet ${topic} was published`);
    }
  } finally {
    await sub.close();
  }
}

test(
  'FLM_SOURCE=p1 with FLM_P1_TCP: the default flow reads a P1 dongle over TCP, the simulator stays silent',
  { timeout: 90_000 },
  async () => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const tcpPort = (server.address() as { port: number }).port;
    const meter = setInterval(() => sockets.forEach((s) => s.write(TELEGRAM, 'latin1')), 250);
    const p = await startPipeline({ FLM_DEVICE_ID: DEVICE_ID, FLM_SOURCE: 'p1', FLM_P1_TCP: `127.0.0.1:${tcpPort}` });
    try {
      await expectMeterReadings(p.mqttPort, p.run.output);
      assert.equal(await p.run.stop(), 0, p.run.output());
    } finally {
      clearInterval(meter);
      await p.run.stop(2000);
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => server.close(r));
      await p.dir.remove();
    }
  },
);

test(
  'FLM_SOURCE=p1 with FLM_SERIAL_PORT: the default flow reads a P1 cable (a socat pty)',
  { timeout: 90_000 },
  async () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    const work = await tempDir('flm-start-pty-');
    const pty = await socatPair(join(work.path, 'cable'), join(work.path, 'meter'));
    cleanups.push(() => pty.stop());
    const fd = openSync(pty.b, constants.O_WRONLY | constants.O_NOCTTY);
    const meter = setInterval(() => writeSync(fd, Buffer.from(TELEGRAM, 'latin1')), 250);
    const q = await startPipeline({ FLM_DEVICE_ID: DEVICE_ID, FLM_SOURCE: 'p1', FLM_SERIAL_PORT: pty.a });
    try {
      await expectMeterReadings(q.mqttPort, q.run.output);
      assert.equal(await q.run.stop(), 0, q.run.output());
    } finally {
      clearInterval(meter);
      closeSync(fd);
      await q.run.stop(2000);
      for (const c of cleanups.reverse()) await c();
      await q.dir.remove();
      await work.remove();
    }
  },
);

test(
  'FLM_SOURCE=board with FLM_SERIAL_PORT: the default flow reads an FLM03 board (the emulator on a socat pty)',
  { timeout: 90_000 },
  async () => {
    const cleanups: Array<() => Promise<unknown> | void> = [];
    const work = await tempDir('flm-start-board-');
    const pty = await socatPair(join(work.path, 'uart'), join(work.path, 'board'));
    cleanups.push(() => pty.stop());
    // A board with a 2300 W load on clamp 1 (the default flow's "main") and 2 solar pulses a second on port 4.
    const board = start(process.execPath, [
      join(repoRoot, 'dist', 'core', 'cli', 'flm.js'),
      'board',
      'emulate',
      '--port',
      pty.b,
      '--clamp',
      '1:2300',
      '--pulses',
      '4:2',
    ]);
    cleanups.push(() => board.stop(2000));
    const p = await startPipeline({ FLM_DEVICE_ID: DEVICE_ID, FLM_SOURCE: 'board', FLM_SERIAL_PORT: pty.a });
    try {
      await untilListening(p.mqttPort, p.run.output);
      const sub = await watchReadings(p.mqttPort);
      try {
        const [main, solar] = SIMULATOR_SIDS;
        await waitFor(
          'the clamp gauge and the solar counter from the board',
          () =>
            sub.seen.get(`/sensor/${main}/gauge`)?.[1] === 2300 &&
            (sub.seen.get(`/sensor/${solar}/counter`)?.[1] ?? 0) >= 2,
          30_000,
          100,
        );
        assert.equal(sub.seen.get(`/sensor/${main}/gauge`)![2], 'W');
        assert.equal(sub.seen.get(`/sensor/${solar}/counter`)![2], 'Wh');
        const age = Date.now() / 1000 - sub.seen.get(`/sensor/${main}/gauge`)![0];
        assert.ok(Math.abs(age) < 30, `stamped with the host clock: ${age} s off`);
      } finally {
        await sub.close();
      }
      assert.equal(await p.run.stop(), 0, p.run.output());
    } finally {
      await p.run.stop(2000);
      for (const c of cleanups.reverse()) await c();
      await p.dir.remove();
      await work.remove();
    }
  },
);

test(
  'FLM_SOURCE that cannot start is refused with a clear message before Node-RED starts',
  { timeout: 60_000 },
  async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ FLM_SOURCE: 'solar' }, /FLM_SOURCE="solar" is not one of simulator, p1, board/],
      [{ FLM_SOURCE: 'p1' }, /FLM_SOURCE=p1 needs FLM_SERIAL_PORT .* or FLM_P1_TCP/],
      [{ FLM_SOURCE: 'board' }, /FLM_SOURCE=board needs FLM_SERIAL_PORT/],
    ];
    for (const [env, message] of cases) {
      const p = await startPipeline(env);
      try {
        const code = await p.run.exited;
        assert.equal(code, 1, p.run.output());
        assert.match(p.run.output(), message);
      } finally {
        await p.run.stop(2000);
        await p.dir.remove();
      }
    }
  },
);
