/**
 * The board emulator against the host session and the reading computation, in memory: the
 * protocol round (ping, port_config, time_stamp, time_step), batches per board second, and the
 * counts an hour of load and 10,000 pulses produce, checked against the emulator's truth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoardEmulator, type EmulatorOptions } from '../../../core/flx/emulator';
import { BoardSession, type BoardOutput } from '../../../core/flx/board-session';
import { Flm03Decoder } from '../../../core/flx/flm03-decoder';
import { encodeFlm03Frame } from '../../../core/flx/flm03-frame';
import { encodeFlm03Message, timeStepFrame } from '../../../core/flx/flm03-messages';
import { encodeKubePacket } from '../../../core/flx/kube';
import { ReadingComputer, type Reading } from '../../../core/readings/computer';
import type { BoardBatch } from '../../../core/mqtt/board-batch';
import type { SensorInput } from '../../../core/config/schema';
import { prng } from '../../../core/util/prng';
import { device, sid, T0 } from '../../support/device';
import { concat } from './support';

const SENSORS: SensorInput[] = [
  { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 },
  {
    n: 2,
    id: sid(2),
    name: 'main vrms',
    type: 'electricity',
    class: 'analog',
    port: [1],
    subtype: 'vrms',
    current: 100,
  },
  { n: 3, id: sid(3), name: 'solar', type: 'electricity', class: 'pulse', port: [4], constant: 1 },
  { n: 4, id: sid(4), name: 'gas', type: 'gas', class: 'pulse', port: [5], constant: 2.5 },
];

/** Emulator and session wired back to back; `hostMs` is the host clock for each exchange. */
function pair(options: EmulatorOptions, sensors = SENSORS, extra: { validAfter?: number } = {}) {
  const dev = device(sensors, extra);
  const emulator = new BoardEmulator(options);
  const session = new BoardSession({ sensors: dev.sensors, phase: dev.phase, validAfter: dev.validAfter });
  const batches: BoardBatch[] = [];
  const events: BoardOutput['events'] = [];
  const deliver = (frames: Uint8Array[], hostMs: number) => {
    if (frames.length === 0) return;
    const out = session.push(concat(...frames), hostMs);
    batches.push(...out.batches);
    events.push(...out.events);
    if (out.writes.length) deliver(emulator.input(concat(...out.writes)), hostMs);
  };
  return { dev, emulator, session, batches, events, deliver };
}

test('an unconfigured board pings and counts nothing; the host answers with the port config of its sensor table', () => {
  const { emulator, session, deliver, events } = pair({
    start: T0,
    clamps: [{ port: 1, watts: 1000 }],
    pulses: [{ port: 4, rate: 2 }],
  });
  assert.deepEqual(emulator.advance(5000), [], 'nothing to report without a config');
  assert.equal(emulator.configured, false);
  deliver([emulator.pingFrame()], T0 + 5000);
  assert.equal(emulator.configured, true);
  const cfg = emulator.portConfig!;
  assert.deepEqual(
    cfg.ports.map((p) => [p.enable, p.constant, p.fraction, p.current]),
    [
      [true, 0, 0, 1],
      [false, 0, 0, 0],
      [false, 0, 0, 0],
      [true, 1, 0, 0],
      [true, 2, 500, 0],
      [false, 0, 0, 0],
      [false, 0, 0, 0],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ['configured', 'time'],
  );
  const time = events[1]!;
  assert.ok(time.type === 'time' && time.decision.action === 'none' && time.decision.reason === 'in-step');
  assert.equal(session.stats.configsSent, 1);
  assert.equal(session.stats.byType.ping, 1);
  assert.equal(session.stats.byType.time_stamp, 1);
});

test('a configured board answers a ping with a pong, and a repeated config changes nothing counted', () => {
  const { emulator, deliver } = pair({ start: T0 });
  deliver([emulator.pingFrame()], T0);
  const pong = new Flm03Decoder().push(concat(...emulator.input(emulator.pingFrame())));
  assert.deepEqual(
    pong.map((m) => m.type),
    ['pong'],
  );
  assert.equal(emulator.truth().pongs, 1);
});

test('one board second is one batch: clamp totals and gauges stamped time − 1, pulse totals at their pulse time', () => {
  const { emulator, session, deliver, batches } = pair({
    start: T0,
    clamps: [{ port: 1, watts: 3600 }],
    pulses: [
      { port: 4, rate: 4 },
      { port: 5, rate: 1 },
    ],
  });
  deliver([emulator.pingFrame()], T0);
  deliver(emulator.advance(3000), T0 + 3000);
  batches.push(...session.flush());
  assert.deepEqual(
    batches.map((b) => b.time),
    [T0 + 999, T0 + 1999, T0 + 2999],
  );
  const second = batches[1]!.records;
  const clamp = second.filter((r) => r.port === 1);
  assert.equal(clamp.length, 18, '6 counters and 12 gauges');
  assert.deepEqual(
    clamp.find((r) => r.kind === 'counter' && r.subtype === 'pplus'),
    { kind: 'counter', port: 1, subtype: 'pplus', value: 2 },
  );
  assert.deepEqual(
    clamp.find((r) => r.kind === 'gauge' && r.subtype === 'pplus'),
    { kind: 'gauge', port: 1, subtype: 'pplus', value: 3600 },
  );
  assert.deepEqual(
    clamp.find((r) => r.kind === 'gauge' && r.subtype === 'vrms'),
    { kind: 'gauge', port: 1, subtype: 'vrms', value: 230 },
  );
  // 4 pulses a second at 250 ms steps: the last one of second 2 is at 1.750 s after configuration
  assert.deepEqual(
    second.filter((r) => r.port === 4),
    [{ kind: 'counter', port: 4, value: 7, time: T0 + 1750 }],
  );
  assert.deepEqual(
    second.filter((r) => r.port === 5),
    [{ kind: 'counter', port: 5, value: 2.5, time: T0 + 1000 }],
  );
});

test("a board clock an hour off is stepped to the host's; an invalid host clock takes the board's", () => {
  const off = pair({ start: T0 - 3_600_000 });
  off.deliver([off.emulator.pingFrame()], T0);
  const step = off.events.find((e) => e.type === 'time')!;
  assert.ok(step.type === 'time' && step.decision.action === 'step-board' && step.decision.driftSeconds === -3600);
  assert.equal(off.emulator.truth().timeSteps, 1);
  assert.equal(Math.floor(off.emulator.boardTime / 1000), T0 / 1000);
  assert.equal(off.session.stats.timeSteps, 1);

  // validAfter in the future: the host clock counts as not set, the board's (later still) is valid
  const unset = pair({ start: T0 + 10_000_000 }, SENSORS, { validAfter: T0 / 1000 + 5000 });
  unset.deliver([unset.emulator.pingFrame()], T0);
  const adopt = unset.events.find((e) => e.type === 'time')!;
  assert.ok(adopt.type === 'time' && adopt.decision.action === 'adopt-board-clock');
  assert.equal(unset.session.boardClockOffsetMs, 10_000_000);
  assert.equal(unset.emulator.truth().timeSteps, 0);
});

test("an hour of a varying clamp load and 10,000 pulses: counters equal the board's truth exactly, gauges within 1 %", () => {
  const { dev, emulator, session, deliver, batches } = pair({
    start: T0 + 123,
    clamps: [{ port: 1, min: 200, max: 5200, periodS: 900 }],
    pulses: [
      { port: 4, rate: 3, count: 10_000 },
      { port: 5, rate: 0.37, jitterMs: 40 },
    ],
    durationS: 3600,
    history: true,
    seed: 7,
  });
  deliver([emulator.pingFrame()], T0);
  const rnd = prng(3);
  // uneven steps of the virtual clock, as a real-time driver makes them
  while (!emulator.finished) deliver(emulator.advance(Math.floor(rnd() * 3000)), emulator.boardTime);
  deliver(emulator.advance(2000), emulator.boardTime);
  batches.push(...session.flush());
  const computer = new ReadingComputer(dev);
  const readings: Reading[] = batches.flatMap((b) => computer.process(b).readings);
  const last = (s: string) => readings.filter((r) => r.sid === s && r.kind === 'counter').at(-1)!.value;
  const truth = emulator.truth();
  const port = (p: number) => truth.ports.find((x) => x.port === p)!;
  assert.equal(port(4).pulses, 10_000);
  assert.equal(last(sid(3)), 10_000);
  assert.equal(last(sid(4)), port(5).total);
  assert.equal(port(5).total, port(5).pulses! * 2.5);
  assert.equal(last(sid(1)), Math.floor(port(1).pplusWh!));
  assert.ok(Math.abs(port(1).pplusWh! - 2700) < 1, `an hour averaging 2700 W is ${port(1).pplusWh} Wh`);

  const truePower = new Map(port(1).history!);
  const gauges = readings.filter((r) => r.sid === sid(1) && r.kind === 'gauge');
  assert.ok(gauges.length >= 3600, `${gauges.length} clamp gauges`);
  for (const g of gauges) {
    const w = truePower.get(g.ts)!;
    assert.ok(Math.abs(g.value - w) <= 0.01 * Math.abs(w) + 0.001, `second ${g.ts}: ${g.value} W against ${w} W`);
  }
  // 3 pulses of 1 Wh a second are 10,800 W
  // (while the train runs: afterwards the gauge falls, as it should)
  const trainEnd = readings.filter((r) => r.sid === sid(3) && r.kind === 'counter').at(-1)!.ts;
  const solar = readings.filter((r) => r.sid === sid(3) && r.kind === 'gauge' && r.ts < trainEnd);
  assert.ok(solar.length > 3000);
  for (const g of solar) assert.ok(Math.abs(g.value - 10_800) <= 108, `solar gauge ${g.value} W at ${g.ts}`);
  assert.deepEqual(
    readings.filter((r) => r.sid === sid(2)).every((r) => r.kind === 'gauge' && r.value === 230 && r.unit === 'V'),
    true,
  );
});

test('bytes in any chunking, with noise and a damaged frame between: the same batches, the damage counted', () => {
  const make = () => pair({ start: T0, clamps: [{ port: 1, watts: 500 }], pulses: [{ port: 4, rate: 2 }] });
  const clean = make();
  clean.deliver([clean.emulator.pingFrame()], T0);
  const noisy = make();
  noisy.deliver([noisy.emulator.pingFrame()], T0);
  const rnd = prng(11);
  for (let i = 0; i < 60; i++) {
    clean.deliver(clean.emulator.advance(1000), T0);
    const bytes = concat(...noisy.emulator.advance(1000));
    const damaged = encodeFlm03Frame(8, new Uint8Array(92));
    damaged[10]! ^= 0xff;
    const stream =
      i % 10 === 5 ? concat(Uint8Array.of(0xaa, 0x13, 0xaa), bytes, damaged, Uint8Array.of(0, 0xaa)) : bytes;
    for (let at = 0; at < stream.length;) {
      const n = 1 + Math.floor(rnd() * 40);
      const out = noisy.session.push(stream.subarray(at, at + n), T0);
      noisy.batches.push(...out.batches);
      at += n;
    }
  }
  clean.batches.push(...clean.session.flush());
  noisy.batches.push(...noisy.session.flush());
  assert.deepEqual(noisy.batches, clean.batches);
  // each damaged frame, and candidates the noise's 0xAA bytes start
  assert.ok(noisy.session.stats.badChecksum >= 6, `${noisy.session.stats.badChecksum} bad checksums`);
  assert.ok(noisy.session.stats.garbageBytes > 0);
  assert.equal(clean.session.stats.badChecksum, 0);
});

test('a three-phase sum: the three clamps of a second meet in one batch and their powers add up', () => {
  const three: SensorInput[] = [
    { n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1, 2, 3] },
  ];
  const { dev, emulator, session, deliver, batches } = pair(
    {
      start: T0,
      clamps: [
        { port: 1, watts: 100 },
        { port: 2, watts: 200 },
        { port: 3, watts: 300 },
      ],
    },
    three,
  );
  deliver([emulator.pingFrame()], T0);
  deliver(emulator.advance(10_000), T0);
  batches.push(...session.flush());
  const computer = new ReadingComputer(dev);
  const readings = batches.flatMap((b) => computer.process(b).readings);
  const gauges = readings.filter((r) => r.kind === 'gauge');
  assert.equal(gauges.length, 10);
  assert.ok(gauges.every((g) => g.value === 600));
  assert.equal(readings.filter((r) => r.kind === 'counter').at(-1)!.value, Math.floor((600 * 10) / 3600));
});

test('Kube packets from the board come out checked; one with a bad CRC is reported, not passed on', () => {
  const session = new BoardSession({ sensors: device().sensors, kubeGroup: 212 });
  const packet = encodeKubePacket(212, { ctl: false, dst: false, ack: false, nid: 3 }, Uint8Array.of(1, 2, 3, 4));
  const bad = packet.slice();
  bad[4]! ^= 1;
  const out = session.push(
    concat(
      encodeFlm03Message({ type: 'kube_packet', payload: packet }),
      encodeFlm03Message({ type: 'kube_packet', payload: bad }),
      encodeFlm03Message({ type: 'ping', payload: new Uint8Array(0) }),
    ),
    T0,
  );
  assert.deepEqual(
    out.events.map((e) => e.type),
    ['kube', 'kube-error', 'configured'],
  );
  const kube = out.events[0]!;
  assert.ok(kube.type === 'kube' && kube.packet.header.nid === 3 && kube.packet.kind === 'data');
  // the config, then the radio group
  assert.deepEqual(
    new Flm03Decoder().push(concat(...out.writes)).map((m) => m.type),
    ['port_config', 'kube_ctrl'],
  );
});

test('a sensor the board cannot serve is reported once, and the rest of the config holds', () => {
  const session = new BoardSession({
    sensors: device([
      { n: 1, id: sid(1), name: 'clamp on a pulse port', type: 'electricity', class: 'analog', port: [5] },
      { n: 2, id: sid(2), name: 'water', type: 'water', class: 'pulse', port: [6], constant: 1 },
    ]).sensors,
  });
  assert.deepEqual(session.configProblems, [
    'sensor "clamp on a pulse port": port 5 is not an FLM03 analog port (1, 2, 3)',
  ]);
  const [cfg] = new Flm03Decoder().push(concat(...session.connected().writes));
  assert.ok(cfg?.type === 'port_config' && cfg.ports[5]!.enable && !cfg.ports[4]!.enable);
});

test('the board clock stepped back an hour mid-stream: the stream follows it, nothing counted is lost', () => {
  const { dev, emulator, session, deliver, batches } = pair({
    start: T0,
    clamps: [{ port: 1, watts: 3600 }],
    pulses: [{ port: 4, rate: 2 }],
  });
  deliver([emulator.pingFrame()], T0);
  for (let i = 0; i < 10; i++) deliver(emulator.advance(1000), emulator.boardTime);
  emulator.input(timeStepFrame(T0 / 1000 - 3600 + 10));
  for (let i = 0; i < 10; i++) deliver(emulator.advance(1000), T0 + 10_000 + i * 1000);
  batches.push(...session.flush());
  const seconds = batches.map((b) => Math.floor(b.time / 1000));
  assert.equal(seconds.filter((s) => s >= T0 / 1000).length, 10, 'the ten seconds before the step');
  assert.equal(seconds.filter((s) => s < T0 / 1000).length, 10, 'and the ten after it, an hour back');
  assert.equal(session.stats.droppedTimeFrames, 0);
  const computer = new ReadingComputer(dev);
  for (const b of batches) assert.deepEqual(computer.process(b).errors, []);
  // What is counted (published readings wait for the clock to pass the last one: one reading per second)
  const counted = computer.snapshot().sensors;
  const truth = emulator.truth();
  assert.equal(
    Math.floor(counted[sid(1)]!.joules! / 3600 + 1e-9),
    Math.floor(truth.ports.find((p) => p.port === 1)!.pplusWh!),
  );
  assert.equal(counted[sid(3)]!.milli! / 1000, truth.ports.find((p) => p.port === 4)!.total);
});
