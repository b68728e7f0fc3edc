import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, flmNodes, onTab, waitFor, collect, statuses, withDataDir } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY } from '../support/device';
import { boardBatchSchema } from '../../core/mqtt/board-batch';

afterEach(async () => {
  await helper.unload();
});

test('flm-simulator emits a board batch per simulated second, faster with speed', async () => {
  await helper.load(
    flmNodes,
    onTab([
      {
        id: 'sim',
        type: 'flm-simulator',
        seed: '3',
        speed: '100',
        phase: '3',
        start: '2026-06-21T12:00:00Z',
        wires: [['out']],
      },
      { id: 'out', type: 'helper' },
    ]),
  );
  const out = collect('out');
  await waitFor('100 batches', () => out.length >= 100, 10_000);
  assert.equal(out[0].topic, 'board/batch');
  out.slice(0, 100).forEach((m, i) => {
    assert.ok(boardBatchSchema.safeParse(m.payload).success);
    assert.equal(m.payload.time, Date.UTC(2026, 5, 21, 12, 0, i + 1));
    assert.deepEqual(
      m.payload.records.filter((r: any) => r.kind === 'analog').map((r: any) => r.port),
      [1, 2, 3],
    );
  });
});

test('flm-simulator stops on close: no message after unload', async () => {
  await helper.load(
    flmNodes,
    onTab([
      { id: 'sim', type: 'flm-simulator', seed: '1', speed: '50', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]),
  );
  const out = collect('out');
  await waitFor('some batches', () => out.length > 5);
  await helper.unload();
  const n = out.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(out.length, n);
});

test('flm-simulator: a bad setting gives a red status and an error', async () => {
  await helper.load(flmNodes, onTab([{ id: 'sim', type: 'flm-simulator', seed: '1', speed: 'fast', wires: [[]] }]));
  const sim = helper.getNode('sim');
  assert.ok(sim.error.calledWithMatch(/speed: "fast" is not a valid value/));
  assert.ok(sim.status.calledWithMatch({ fill: 'red' }));
});

test('simulator -> sensor: the default household produces gauges and counters for every sensor', async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: HOUSEHOLD_SENSORS },
        {
          id: 'sim',
          type: 'flm-simulator',
          seed: '1',
          speed: '600',
          start: '2026-06-21T08:00:00Z',
          wires: [['sensor']],
        },
        { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]),
      { dev: { deviceKey: DEVICE_KEY } },
    );
    const out = collect('out');
    const st = statuses('sensor');
    const names = (kind: string) => new Set(out.filter((m) => m.flm?.kind === kind).map((m) => m.flm.name));
    await waitFor(
      'gauges from main and solar, counters from all four',
      () => names('gauge').has('main') && names('gauge').has('solar') && names('counter').size === 4,
      15_000,
    );
    await waitFor('green status', () => st.find((s) => s.fill === 'green' && /4 sensors/.test(s.text ?? '')));
    for (const m of out.filter((x) => x.flm)) {
      assert.match(m.topic, /^\/sensor\/[0-9a-f]{32}\/(gauge|counter)$/);
      assert.ok(Number.isInteger(m.payload[0]) && typeof m.payload[1] === 'number');
    }
  });
});
