/**
 * Kubes heard by the emulated board, through the host session and the Kube reading mapper, in
 * memory: packets on the configured radio group, fields decoded as the emulator's truth says,
 * and readings for exactly the fields the sensor table asks for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoardEmulator } from '../../../core/flx/emulator';
import { BoardSession } from '../../../core/flx/board-session';
import { KubeReadingMapper } from '../../../core/readings/kube-mapper';
import type { KubePacket } from '../../../core/flx/kube';
import { device, T0 } from '../../support/device';
import { concat } from './support';

const SENSORS = [
  { n: 7, name: 'hall temperature', type: 'temperature', class: 'kube', kid: 3 },
  { n: 8, name: 'hall pressure', type: 'pressure', class: 'kube', kid: 3 },
  { n: 9, name: 'hall motion', type: 'movement', class: 'kube', kid: 3 },
  { n: 10, name: 'attic humidity', type: 'humidity', class: 'kube', kid: 4 },
] as never[];

test("emulated Kubes: packets on the board's group every N s, decoded to the set values, mapped to their sensors", () => {
  const dev = device(SENSORS);
  const emulator = new BoardEmulator({
    start: T0,
    kubes: [
      {
        nid: 3,
        model: 'flk01b',
        everyS: 60,
        temperature: 19.5,
        humidity: 40,
        pressure: 98_000,
        light: 120,
        motion: 2,
        ack: true,
      },
      { nid: 4, model: 'flk01a', everyS: 120, temperature: -3.25, humidity: 85 },
    ],
  });
  const session = new BoardSession({
    sensors: dev.sensors,
    phase: dev.phase,
    validAfter: dev.validAfter,
    kubeGroup: 77,
  });
  const mapper = new KubeReadingMapper(dev);
  const packets: KubePacket[] = [];
  const readings: Array<[string, string, number, number, string]> = [];
  let host = T0;
  const deliver = (frames: Uint8Array[]) => {
    if (frames.length === 0) return;
    const out = session.push(concat(...frames), host);
    for (const e of out.events) {
      if (e.type !== 'kube') continue;
      packets.push(e.packet);
      const r = mapper.process(
        { nid: e.packet.header.nid, kind: e.packet.kind, ack: e.packet.header.ack, payload: e.packet.payload },
        Math.floor(host / 1000),
      );
      for (const x of r.readings) readings.push([x.sensor.name, x.kind, x.ts, x.value, x.unit]);
    }
    if (out.writes.length) deliver(emulator.input(concat(...out.writes)));
  };
  deliver([emulator.pingFrame()]);
  for (let s = 0; s < 600; s++) {
    host += 1000;
    deliver(emulator.advance(1000));
  }

  const truth = emulator.truth();
  // kube 3: 10 rounds of a measurement and a movement packet; kube 4: 5 rounds
  assert.deepEqual(
    truth.kubes.map((k) => [k.nid, k.packets]),
    [
      [3, 20],
      [4, 5],
    ],
  );
  assert.equal(packets.length, 25);
  assert.ok(
    packets.every((p) => p.group === 77 && p.kind === 'data'),
    'on the group the host set with kube_ctrl',
  );
  assert.ok(packets.filter((p) => p.header.nid === 3).every((p) => p.header.ack));

  // the values survive the registry's scaling to its resolution
  const k3 = Object.fromEntries(truth.kubes[0]!.fields.map((f) => [f.field, f.value]));
  assert.deepEqual([k3.temperature, k3.humidity, k3.pressure, k3.light, k3.movement], [19.5, 40, 98_000, 120, 20]);
  const k4 = Object.fromEntries(truth.kubes[1]!.fields.map((f) => [f.field, f.value]));
  assert.deepEqual([k4.temperature, k4.humidity], [-3.25, 85]);

  const by = (name: string) => readings.filter((r) => r[0] === name);
  assert.equal(by('hall temperature').length, 10);
  assert.ok(by('hall temperature').every(([, kind, , v, u]) => kind === 'gauge' && v === 19.5 && u === '°C'));
  assert.deepEqual(by('hall pressure').at(-1)!.slice(1, 2).concat(by('hall pressure').at(-1)!.slice(3)), [
    'gauge',
    98_000,
    'Pa',
  ]);
  assert.deepEqual(
    by('hall motion').map((r) => r[3]),
    [2, 4, 6, 8, 10, 12, 14, 16, 18, 20],
    'the PIR count rises by 2 a round',
  );
  assert.ok(by('hall motion').every((r) => r[1] === 'counter'));
  assert.deepEqual(
    by('attic humidity').map((r) => r[3]),
    [85, 85, 85, 85, 85],
  );
  assert.equal(
    readings.length,
    10 + 10 + 10 + 5,
    'no reading for fields without a sensor (light, battery, error, attic temperature)',
  );
});
