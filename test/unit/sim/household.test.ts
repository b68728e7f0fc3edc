import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Household, DEFAULT_HOUSEHOLD } from '../../../core/sim/household';
import { boardBatchSchema } from '../../../core/mqtt/board-batch';
import { T0 } from '../../support/device';

const run = (seed: number, steps: number, start = T0, phase: 1 | 3 = 1) => {
  const h = new Household({ ...DEFAULT_HOUSEHOLD, seed, phase }, start);
  return { h, batches: Array.from({ length: steps }, () => h.step()) };
};

test('the same seed and start give the same household, second by second', () => {
  assert.deepEqual(run(7, 3600).batches, run(7, 3600).batches);
  assert.notDeepEqual(run(7, 600).batches, run(8, 600).batches);
});

test('every batch is a valid board batch, one per second', () => {
  const { batches } = run(1, 600);
  batches.forEach((b, i) => {
    assert.ok(boardBatchSchema.safeParse(b).success);
    assert.equal(b.time, T0 + (i + 1) * 1000);
    for (const r of b.records) if (r.kind === 'pulse') assert.ok(r.time! >= b.time - 1000 && r.time! < b.time);
  });
});

test('solar follows the sun: pulses at noon, none at night', () => {
  const noon = run(1, 600, T0).h.solar.total;
  const night = run(1, 600, Date.UTC(2026, 5, 21, 2, 0, 0)).h.solar.total;
  assert.equal(night, 0);
  // 3600 W peak with clouds between 25 % and 100 %: 10 min at noon gives 150..600 Wh
  assert.ok(noon >= 150 && noon <= 600, `noon solar ${noon} Wh`);
});

test('pulses carry the energy: total pulses × constant equals what the meters accumulated within one constant', () => {
  const { h, batches } = run(3, 7200, Date.UTC(2026, 5, 21, 7, 0, 0));
  const sum = (port: number) =>
    batches
      .flatMap((b) => b.records)
      .filter((r) => r.kind === 'pulse' && r.port === port)
      .reduce((a, r) => a + (r.kind === 'pulse' ? r.pulses : 0), 0);
  assert.equal(sum(4), h.solar.total);
  assert.equal(sum(5), h.gas.total);
  assert.equal(sum(6), h.water.total);
  assert.ok(h.water.total > 0 && h.gas.total > 0, 'a morning uses water and gas');
});

test('mains power is a plausible household load; 3 phases report three clamps', () => {
  const { h, batches } = run(5, 3600 * 6, Date.UTC(2026, 5, 21, 6, 0, 0));
  const powers = batches.map((b) =>
    b.records.filter((r) => r.kind === 'analog').reduce((a, r) => a + (r.kind === 'analog' ? r.power : 0), 0),
  );
  assert.ok(Math.min(...powers) >= 100, `min ${Math.min(...powers)} W`);
  assert.ok(Math.max(...powers) > 1500, 'some appliance ran in six busy hours');
  assert.ok(Math.max(...powers) < 12_000);
  assert.ok(h.mainsWh > 600 && h.mainsWh < 20_000, `${h.mainsWh} Wh in 6 h`);
  const three = run(5, 10, T0, 3).batches;
  assert.deepEqual(
    three[0]!.records.filter((r) => r.kind === 'analog').map((r) => r.port),
    [1, 2, 3],
  );
});
