/**
 * P1 registers checked for plausibility (p1-totals-guard.ts): streams of telegrams built at run
 * time from real fixtures, DSMR 5 with a CRC the test computes and DSMR 3 with none, with a
 * single wrong digit put in the totals of random telegrams: no published counter goes down or
 * grows faster than the connection (or gas and water meter) can, and the readings stay exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { P1ReadingMapper } from '../../../core/readings/p1-mapper';
import { P1TotalsGuard, DEFAULT_P1_LIMITS, P1_MARGIN, CONFIRMATIONS } from '../../../core/readings/p1-totals-guard';
import { decodeTelegram } from '../../../core/p1';
import type { FlmP1Reading } from '../../../core/p1/flm-readings';
import { prng } from '../../../core/util/prng';
import { withCrc } from '../p1/fixtures';
import { dsmr3, dsmr5, wrongDigit, type Meter } from '../../support/p1-telegrams';
import { device } from '../../support/device';

const WH_PER_S = (DEFAULT_P1_LIMITS.maxPowerW * P1_MARGIN) / 3600;
const GAS_L_PER_S = (DEFAULT_P1_LIMITS.maxGasM3h * P1_MARGIN * 1000) / 3600;
const WATER_L_PER_S = (DEFAULT_P1_LIMITS.maxWaterM3h * P1_MARGIN * 1000) / 3600;

function runStream(kind: 'dsmr5' | 'dsmr3', seed: number) {
  const rnd = prng(seed);
  const step = kind === 'dsmr5' ? 1 : 10;
  let host = Date.UTC(2026, 0, 15, 11, 0, 0);
  const mapper = new P1ReadingMapper(device([]), { now: () => host });
  const m: Meter = {
    t: host / 1000,
    imp1: 1_234_567,
    imp2: 987_654,
    exp1: 12_345,
    exp2: 67_890,
    gas: 4_321_000,
    gasAt: host / 1000 - 60,
    water: 98_765,
  };
  const published = new Map<string, Array<{ ts: number; host: number; value: number; key: string; i: number }>>();
  const keyOf = new Map<string, FlmP1Reading['key']>();
  const corrupted: string[] = [];
  const N = kind === 'dsmr5' ? 1500 : 400;
  for (let i = 0; i < N; i++) {
    host += step * 1000;
    m.t += step;
    // A household: import on tariff 1 or 2, some export; gas and water captured every 5 minutes.
    const w = Math.floor(rnd() * 4000);
    if (Math.floor(i / 200) % 2 === 0) m.imp1 += Math.round((w * step) / 3600);
    else m.imp2 += Math.round((w * step) / 3600);
    if (rnd() < 0.3) m.exp2 += Math.round((1500 * step) / 3600);
    if (m.t - m.gasAt >= 300) {
      m.gasAt += 300;
      m.gas += Math.floor(rnd() * 200);
      m.water += Math.floor(rnd() * 50);
    }
    let text = kind === 'dsmr5' ? dsmr5(m) : dsmr3(m);
    if (i > 0 && i < N - 5 && rnd() < 0.05) {
      const c = wrongDigit(text, rnd);
      text = c.text;
      corrupted.push(`${i}: ${c.what}`);
    }
    if (kind === 'dsmr5') text = withCrc(text);
    const d = decodeTelegram(text);
    assert.ok(d.ok, `telegram ${i} decodes: ${d.ok ? '' : d.error}`);
    const r = mapper.process(d.telegram, Math.floor(host / 1000));
    for (const x of r.readings) {
      if (x.kind !== 'counter') continue;
      const list = published.get(x.sid) ?? [];
      list.push({ ts: x.ts, host, value: x.value, key: String(x.sensor.p1), i });
      published.set(x.sid, list);
      keyOf.set(x.sid, String(x.sensor.p1));
    }
  }
  return { published, corrupted, m, guard: mapper.guard };
}

for (const kind of ['dsmr5', 'dsmr3'] as const) {
  test(`${kind === 'dsmr5' ? 'DSMR 5 with a CRC' : 'DSMR 3 without a CRC'}: single wrong digits in the totals never make a published counter jump or go back`, () => {
    const seed = Number(process.env.FLM_P1_SEED) || Math.floor(Math.random() * 2 ** 31);
    const { published, corrupted, m, guard } = runStream(kind, seed);
    const context = `seed ${seed} (FLM_P1_SEED=${seed} repeats it); wrong digits: ${corrupted.length}`;
    assert.ok(corrupted.length >= 10, context);
    assert.ok(guard.stats.held >= corrupted.length / 3, `${context}; held ${guard.stats.held}`);
    const truth: Record<string, number> = { net: m.imp1 + m.imp2 - m.exp1 - m.exp2 };
    let counters = 0;
    for (const list of published.values()) {
      const key = list[0]!.key;
      const rate = key.startsWith('gas') ? GAS_L_PER_S : key.startsWith('water') ? WATER_L_PER_S : WH_PER_S;
      for (let k = 1; k < list.length; k++) {
        const [a, b] = [list[k - 1]!, list[k]!];
        const seconds = Math.max((b.host - a.host) / 1000, b.ts - a.ts, 1);
        const step = b.value - a.value;
        if (key !== 'net') assert.ok(step >= 0, `${key} went from ${a.value} to ${b.value}; ${context}`);
        const near = corrupted.filter((c) => Math.abs(Number(c.split(':')[0]) - b.i) <= 3).join(', ');
        assert.ok(
          Math.abs(step) <= rate * seconds + 1e-6,
          `${key} jumped from ${a.value} to ${b.value} in ${seconds} s (telegram ${b.i}; wrong digits near it: ${near}); ${context}`,
        );
      }
      counters++;
      if (key === 'net') {
        assert.equal(list.at(-1)!.value, truth.net, `the net counter ends exact; ${context}`);
      }
    }
    assert.ok(counters >= 2, `counters published: ${counters}`);
  });
}

test('a real jump or drop (a replaced meter) is published once the telegrams after it agree with it', () => {
  let host = 0;
  const g = new P1TotalsGuard(DEFAULT_P1_LIMITS, () => host);
  const gas = (ts: number, value: number): FlmP1Reading => ({
    key: 'gas:x',
    type: 'gas',
    kind: 'counter',
    ts,
    value,
    unit: 'L',
    sid: 'g',
  });
  const offer = (t: number, value: number) => {
    host = t * 1000;
    return g.screen([gas(t, value)]);
  };
  assert.equal(offer(0, 1000).pass.length, 1, 'the first value after a start is taken');
  assert.equal(offer(1, 1001).pass.length, 1);
  const held = offer(2, 1_000_000);
  assert.equal(held.pass.length, 0);
  assert.match(
    held.reasons[0]!,
    /P1 gas:x 1000000 L jumped from 1001 in 1 s, more than a gas meter \(10 m³\/h × 1\.5\) can pass: held until 2 more telegrams confirm it/,
  );
  assert.equal(
    offer(3, 1002).pass.length,
    1,
    'the next telegram carries on from the last published: the jump was a wrong digit',
  );
  for (let k = 0; k < CONFIRMATIONS - 1; k++) assert.equal(offer(4 + k, 10).pass.length, 0, 'a drop waits');
  const r = offer(4 + CONFIRMATIONS - 1, 11);
  assert.equal(r.pass.length, 1, `${CONFIRMATIONS} telegrams in a row agree: a new meter`);
  assert.match(r.notices[0]!, /telegrams in a row agree on it \(was 1002\)/);
  assert.equal(g.stats.confirmed, 1);
});

test('a dip below the last published value (a wrong last digit that passed) is held until the meter passes it again', () => {
  let host = 0;
  const g = new P1TotalsGuard(DEFAULT_P1_LIMITS, () => host);
  const imp = (value: number): FlmP1Reading => ({
    key: 'delivered:t1',
    type: 'electricity',
    kind: 'counter',
    ts: host / 1000,
    value,
    unit: 'Wh',
    sid: 'e',
  });
  const net = (value: number): FlmP1Reading => ({
    key: 'net',
    type: 'electricity',
    kind: 'counter',
    ts: host / 1000,
    value,
    unit: 'Wh',
    sid: 'n',
  });
  const offer = (t: number, value: number) => {
    host = t * 1000;
    return g.screen([imp(value), net(value)]).pass.map((r) => r.key);
  };
  offer(0, 500);
  assert.deepEqual(offer(1, 509), ['delivered:t1', 'net'], '9 Wh in a second is within the connection');
  assert.deepEqual(
    offer(2, 502),
    ['net'],
    'below what went out: the 509 was a wrong digit; the register waits, the net counter goes on',
  );
  assert.deepEqual(offer(3, 505), ['net']);
  assert.deepEqual(offer(4, 510), ['delivered:t1', 'net'], 'passed again');
});

test('a wrong digit that passes while a dip is waited out does not make the real value a drop: a register that stands still never goes back', () => {
  let host = 0;
  const g = new P1TotalsGuard(DEFAULT_P1_LIMITS, () => host);
  const exp = (value: number): FlmP1Reading => ({
    key: 'returned',
    type: 'electricity',
    kind: 'counter',
    ts: host / 1000,
    value,
    unit: 'Wh',
    sid: 'x',
  });
  const published: number[] = [];
  const offer = (t: number, value: number) => {
    host = t * 1000;
    for (const r of g.screen([exp(value)]).pass) published.push(r.value);
  };
  // Export stands at 80235 all night; two wrong last digits a few telegrams apart (seed 1299243248 of the stream test).
  offer(0, 80235);
  offer(1, 80236);
  for (let t = 2; t < 6; t++) offer(t, 80235);
  offer(6, 80239);
  for (let t = 7; t < 7 + 3 * CONFIRMATIONS; t++) offer(t, 80235);
  assert.deepEqual(published, [80235, 80236, 80239], 'held at the highest published value, never back to 80235');
});

test('after a restart the first telegram is checked against the saved registers: a wrong digit in it is held too', () => {
  let host = 1_000_000;
  const imp = (value: number): FlmP1Reading => ({
    key: 'delivered',
    type: 'electricity',
    kind: 'counter',
    ts: host / 1000,
    value,
    unit: 'Wh',
    sid: 'e',
  });
  const a = new P1TotalsGuard(DEFAULT_P1_LIMITS, () => host);
  a.screen([imp(5000)]);
  host += 1000;
  a.screen([imp(5003)]);
  assert.equal(a.dirty, true);
  const saved = Object.fromEntries(Object.entries(a.snapshot()).map(([sid, p1]) => [sid, { p1 }]));
  assert.deepEqual(saved, { e: { p1: { value: 5003, ms: 1_001_000 } } });
  assert.equal(a.dirty, false);

  // Down for a minute: up to a minute at the connection's limit (about 1.1 kWh) is plausible.
  const restart = (value: number) => {
    host = 1_061_000;
    const b = new P1TotalsGuard(DEFAULT_P1_LIMITS, () => host);
    b.restore(saved);
    return b.screen([imp(value)]).pass.length;
  };
  assert.equal(restart(5400), 1);
  assert.equal(restart(85_003), 0, 'a jump of 80 kWh in a minute');
  assert.equal(restart(4003), 0, 'below what was published before the restart');
});
