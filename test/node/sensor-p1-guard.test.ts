/**
 * flm-sensor checks P1 registers for plausibility: a telegram with one wrong digit (here a valid
 * CRC over an impossible import register) publishes no counter of it, the status says why and
 * counts the held telegrams, and the log says it once however often it happens.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir } from '../support/nodered';
import { DEVICE_ID, DEVICE_KEY } from '../support/device';
import { decodeTelegram } from '../../core/p1';
import { withCrc } from '../unit/p1/fixtures';
import { dsmr5, type Meter } from '../support/p1-telegrams';

afterEach(async () => {
  await helper.unload();
});

const creds = { dev: { deviceKey: DEVICE_KEY } };

test('a P1 register that jumps is held: no counter of that telegram goes out, the status says why, one warning', async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: [] },
        { id: 'sensor', type: 'flm-sensor', device: 'dev', p1MaxPowerKw: '17.25', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]),
      creds,
    );
    const sensor = helper.getNode('sensor');
    const out = collect('out');
    const status: Array<{ fill?: string; text?: string }> = [];
    const warnings: string[] = [];
    sensor.on('call:status', (c: { args: Array<{ fill?: string; text?: string }> }) => status.push(c.args[0]!));
    sensor.on('call:warn', (c: { args: unknown[] }) => warnings.push(String(c.args[0])));
    const now = Math.floor(Date.now() / 1000);
    const m: Meter = {
      t: now - 100,
      imp1: 1_000_000,
      imp2: 2_000_000,
      exp1: 0,
      exp2: 500,
      gas: 1000,
      gasAt: now - 200,
      water: 10,
    };
    const send = (corrupt?: (text: string) => string) => {
      m.t++;
      m.imp1 += 1;
      const body = dsmr5(m);
      const d = decodeTelegram(withCrc(corrupt ? corrupt(body) : body));
      assert.ok(d.ok);
      sensor.receive({ topic: 'p1/telegram', payload: d.telegram });
    };
    // The net counter ('grid'); the meter's import and export registers are sensors of their own.
    const counters = () =>
      out.filter((x) => x.topic.endsWith('/counter') && x.flm?.name === 'grid').map((x) => x.payload[1] as number);
    send();
    send();
    await waitFor('two net counters', () => counters().length >= 2);
    // 1-0:1.8.1(001000.002) with its first digit wrong: 8,000 MWh more, with a valid CRC.
    // Twice in a row, one telegram short of what would confirm it as a new meter.
    for (let k = 0; k < 2; k++) send((t) => t.replace(/1-0:1\.8\.1\(0/, '1-0:1.8.1(8'));
    send();
    await waitFor('the net counter after the held telegrams', () => counters().length >= 3);
    const values = counters();
    assert.deepEqual(
      values.slice(1).map((v, i) => v - values[i]!),
      [1, 3],
      `net counters ${values}`,
    );
    const held = status.find((s) => /held/.test(s.text ?? ''));
    assert.ok(held, `statuses: ${JSON.stringify(status)}`);
    assert.equal(held.fill, 'yellow');
    assert.match(held.text!, /P1 · \d+ out · 1 held: P1 delivered/);
    assert.ok(
      status.some((s) => /· 2 held: P1 delivered/.test(s.text ?? '')),
      'every held telegram is counted',
    );
    assert.match(status.at(-1)!.text!, /· 2 held$/, 'the count stays in the status');
    assert.equal(warnings.length, 1, `warnings: ${warnings.join('\n')}`);
    assert.match(
      warnings[0]!,
      /jumped from 1000002 in 1 s, more than the connection \(17\.25 kW × 1\.5\) can pass: held until 2 more telegrams confirm it/,
    );
  });
});
