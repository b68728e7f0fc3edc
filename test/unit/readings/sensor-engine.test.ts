import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SensorEngine, type SensorOut } from '../../../core/readings/sensor-engine';
import { DEFAULT_P1_LIMITS } from '../../../core/readings/p1-totals-guard';
import { DeviceSensors } from '../../../core/config/sensor-set';
import { device, sid, T0, DEVICE_ID } from '../../support/device';

async function engineIn(dir: string, logs: string[] = []) {
  const d = device();
  return SensorEngine.open({
    device: d,
    sensors: await DeviceSensors.load(d, dir),
    dataDir: dir,
    p1Limits: DEFAULT_P1_LIMITS,
    log: (level, text) => logs.push(`${level}: ${text}`),
    rejects: () => 0,
    nowS: () => Math.floor(T0 / 1000),
  });
}

test('sensor engine: batches become readings, one message after the other; counters survive a close and reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-engine-'));
  try {
    const e = await engineIn(dir);
    const out: SensorOut[] = [];
    const views = await Promise.all(
      [1, 2, 3].map((i) =>
        e.process('board/batch', { time: T0 + i * 1000, records: [{ kind: 'pulse', port: 4, pulses: 5 }] }, (o) =>
          out.push(...o),
        ),
      ),
    );
    const counters = out.filter((o) => o.topic === `/sensor/${sid(2)}/counter`).map((o) => (o.payload as number[])[1]!);
    assert.deepEqual(
      counters,
      [...counters].sort((a, b) => a - b),
      'in order',
    );
    assert.equal(counters.at(-1), 15);
    // the power now of the table's first sensor with a power gauge, then the counts
    const last = views.at(-1)!;
    assert.equal(last.level, 'ok');
    assert.equal(last.text, `solar 18.00 kW · 4 sensors · ${out.length} out`);
    assert.deepEqual(
      last.phrases?.map((p) => p.key),
      ['power', 'sensors', 'out'],
    );
    await assert.rejects(
      e.process('board/batch', { nope: 1 }, () => undefined),
      /not a board batch/,
    );
    assert.equal(await e.process('p1/availability', 'online', () => assert.fail('news is no input')), undefined);
    await e.close();
    assert.match(await readFile(join(dir, `counters-${DEVICE_ID}.json`), 'utf8'), new RegExp(sid(2)));
    const again = await engineIn(dir);
    const next: SensorOut[] = [];
    await again.process('board/batch', { time: T0 + 5000, records: [{ kind: 'pulse', port: 4, pulses: 1 }] }, (o) =>
      next.push(...o),
    );
    assert.equal((next.find((o) => o.topic === `/sensor/${sid(2)}/counter`)?.payload as number[])[1], 16);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sensor engine: the sensor table message and a clock that is not valid', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'flm-engine-'));
  try {
    const e = await engineIn(dir);
    const cfg = e.configMessage();
    assert.equal(cfg.topic, `/device/${DEVICE_ID}/config/sensor`);
    assert.equal(cfg.retain, true);
    const err = await e
      .process('board/batch', { time: 1000, records: [{ kind: 'pulse', port: 4, pulses: 1 }] }, () => undefined)
      .catch((x: Error) => x);
    assert.match(String(err), /clock not valid/);
    assert.deepEqual(e.errorView(err), { level: 'error', text: 'clock invalid · 1 held' });
    await e.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
