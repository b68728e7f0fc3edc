/**
 * `FLM_SOURCE=p1 npm start` with a Belgian meter on a socat pty, as a new user runs it: no table
 * edited. The meter's sensors are derived and become the device's: the sensor table on
 * /device/<did>/config/sensor lists them, Home Assistant discovery holds import and export as
 * separate total_increasing entities, and TMPO stores the electricity counter and the gas meter,
 * which the series API and `flm tmpo export` serve.
 *
 * The meter speaks as real ones do: telegrams built at run time with a CRC computed here, gas
 * captured every 5 minutes and reported 6 minutes late, so every gas reading arrives after the
 * TMPO window it belongs to has closed. Node-RED runs on a clock 60 times faster than real time
 * (test/support/fast-clock.ts), so the run spans many TMPO flushes in about a minute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { tempDir, waitFor } from '../support/nodered';
import { derivedApiToken } from '../../core/api/auth';
import { startPipeline } from '../support/start-pipeline';
import { untilListening } from '../support/net';
import { socatPair } from '../support/pty';
import { belgianTelegram } from '../support/p1-telegrams';
import { checkHaSensorConfig } from '../support/ha-sensor-schema';
import { fastClock } from '../support/fast-clock';
import { runFlm } from '../support/cli';

const DEVICE_ID = '00112233445566778899aabbccddeeff';
const DEVICE_KEY = 'ffeeddccbbaa99887766554433221100';
const SPEED = 60;
const GAS_EVERY_MS = 300_000;
const GAS_LAG_MS = 360_000;
/** simulated run: long enough for several gas captures to be written in closed TMPO windows */
const RUN_MS = 45 * 60_000;
const IMPORT_KW = 1.8;

interface SensorSection {
  id: string;
  function: string;
  class: string;
  enable: number;
  p1?: string;
}
type Sample = [number, number];

test(
  "FLM_SOURCE=p1 npm start: the meter's sensors are published, announced to HA as import and export, and every reading is stored once, gas 6 minutes late included",
  { timeout: 300_000 },
  async () => {
    const work = await tempDir('flm-start-p1-sensors-');
    const pty = await socatPair(join(work.path, 'cable'), join(work.path, 'meter'));
    const fd = openSync(pty.b, constants.O_WRONLY | constants.O_NOCTTY);
    const clock = fastClock(SPEED);
    const t0 = clock.nowMs();
    // The gas meter's captures: every 5 minutes on the quarter-hour grid, 0.125 m³ apart.
    const captureBefore = (ms: number) => Math.floor((ms - GAS_LAG_MS) / GAS_EVERY_MS) * GAS_EVERY_MS;
    const firstCapture = captureBefore(t0);
    const gasOf = (c: number) => 1500.5 + ((c - firstCapture) / GAS_EVERY_MS) * 0.125;
    const captures = new Set<number>();
    let last = t0;
    const meter = setInterval(() => {
      last = clock.nowMs();
      const c = captureBefore(last);
      captures.add(c);
      const import1 = 1234.5 + (IMPORT_KW * (last - t0)) / 3_600_000;
      writeSync(
        fd,
        Buffer.from(
          belgianTelegram({
            at: last,
            capturedAt: c,
            registers: [import1, 2000.25, 10, 20.125],
            gas: gasOf(c),
            water: 80.25,
          }),
          'latin1',
        ),
      );
    }, 250);
    const p = await startPipeline({
      ...clock.env,
      FLM_DEVICE_ID: DEVICE_ID,
      FLM_DEVICE_KEY: DEVICE_KEY,
      FLM_SOURCE: 'p1',
      FLM_SERIAL_PORT: pty.a,
    });
    let client: mqtt.MqttClient | undefined;
    try {
      await untilListening(p.mqttPort, p.run.output);
      client = await mqtt.connectAsync(`mqtt://127.0.0.1:${p.mqttPort}`, { reconnectPeriod: 0 });
      const retained = new Map<string, string>();
      client.on('message', (topic, payload) => {
        if (payload.length === 0) retained.delete(topic);
        else retained.set(topic, payload.toString());
      });
      await client.subscribeAsync(['homeassistant/#', '/device/#'], { qos: 1 });

      // The published sensor table holds the meter's sensors, enabled, and the simulator's disabled.
      const tableTopic = `/device/${DEVICE_ID}/config/sensor`;
      const table = await waitFor(
        "the table with the meter's sensors",
        () => {
          const t = retained.get(tableTopic);
          const sections = t ? Object.values(JSON.parse(t) as Record<string, SensorSection>).filter((s) => s.id) : [];
          return sections.some((s) => s.function === 'water') && sections.some((s) => s.function === 'grid')
            ? sections
            : undefined;
        },
        60_000,
        100,
      );
      const byName = new Map(table.filter((s) => s.enable === 1).map((s) => [s.function, s]));
      for (const name of [
        'grid',
        'grid import',
        'grid export',
        'grid import t1',
        'grid import t2',
        'grid export t1',
        'grid export t2',
        'gas',
        'water',
      ]) {
        assert.equal(byName.get(name)?.class, 'cosem', `${name} in ${JSON.stringify(table.map((s) => s.function))}`);
      }
      assert.deepEqual(
        table.filter((s) => s.class !== 'cosem').map((s) => s.enable),
        [0, 0, 0, 0],
        "the simulator's sensors are off",
      );
      // The pipeline has taken in a telegram: the gas capture on the wire now is stored from here on.
      const readyCapture = captureBefore(clock.nowMs());
      const grid = byName.get('grid')!.id;
      const gas = byName.get('gas')!.id;

      // Home Assistant: separate import and export energy, total_increasing, valid configs.
      const entities = await waitFor(
        'import and export entities',
        () => {
          const list = [...retained]
            .filter(([t]) => t.startsWith(`homeassistant/sensor/${DEVICE_ID}/`))
            .map(([, v]) => JSON.parse(v));
          const names = new Set(list.map((c) => c.name));
          return names.has('grid import energy') && names.has('grid export t2 energy') && names.has('gas volume')
            ? list
            : undefined;
        },
        60_000,
        100,
      );
      for (const c of entities) assert.deepEqual(checkHaSensorConfig(c).errors, [], c.name);
      const energy = entities
        .filter((c) => c.device_class === 'energy' && c.state_class === 'total_increasing')
        .map((c) => c.name)
        .sort();
      assert.deepEqual(energy, [
        'grid export energy',
        'grid export t1 energy',
        'grid export t2 energy',
        'grid import energy',
        'grid import t1 energy',
        'grid import t2 energy',
      ]);
      assert.ok(!entities.some((c) => c.name === 'main energy'), 'no simulator entities');

      // The local API answers for the meter's electricity counter at once.
      const local = await fetch(`http://127.0.0.1:${p.api}/sensor/${grid}?version=1.0&interval=minute&unit=watt`);
      assert.equal(local.status, 200, await local.text());

      // Let the meter run its simulated 45 minutes: many TMPO windows close meanwhile.
      await waitFor(`${RUN_MS / 60_000} simulated minutes`, () => last - t0 >= RUN_MS, (RUN_MS / SPEED) * 3, 200);
      clearInterval(meter);
      const stoppedAt = last;
      // ...and the pipeline on for 15 more simulated minutes, so the last late gas reading's window closes too.
      await waitFor('15 more simulated minutes', () => clock.nowMs() - stoppedAt >= 15 * 60_000, 60_000, 200);

      // The series API: the electricity counter, rising with the import register.
      const start = Math.floor(t0 / 1000 / 60) * 60;
      const r = await fetch(
        `http://127.0.0.1:${p.api}/sensor/${grid}/series?start=${start}&end=${Math.floor(stoppedAt / 1000)}&resolution=minute&unit=counter`,
        { headers: { 'X-Version': '1.0', 'X-Token': derivedApiToken(DEVICE_KEY) } },
      );
      assert.equal(r.status, 200, await r.clone().text());
      const series = (await r.json()) as { blocks: number; series: Array<[number, number | 'nan']> };
      assert.ok(series.blocks >= 2, `${series.blocks} blocks of the grid counter`);
      const values = series.series.map(([, v]) => v).filter((v): v is number => typeof v === 'number');
      const net0 = 1234500 + 2000250 - 10000 - 20125;
      assert.ok(values.length >= 30, `${values.length} minutes with a value`);
      assert.ok(
        values.every((v, i) => v >= net0 && (i === 0 || v >= values[i - 1]!)),
        JSON.stringify(values),
      );
      assert.ok(
        values.at(-1)! >= net0 + IMPORT_KW * 1000 * 0.6,
        `the counter grew with the import: ${values.at(-1)! - net0} Wh`,
      );

      const stopCode = await p.run.stop();
      assert.equal(stopCode, 0, p.run.output());

      // flm tmpo export: every reading once. Grid timestamps never repeat; every gas capture the
      // meter reported (each one 6 minutes late) is there exactly once, with its value.
      const exported = async (sid: string) => {
        const x = await runFlm(['tmpo', 'export', '--dir', join(p.dir.path, 'data'), '--sid', sid]);
        assert.equal(x.code, 0, x.err);
        return (JSON.parse(x.out) as { series: Sample[] }).series;
      };
      const gridSamples = await exported(grid);
      assert.ok(gridSamples.length >= 100, `${gridSamples.length} grid samples`);
      assert.ok(
        gridSamples.every(([t], i) => i === 0 || t > gridSamples[i - 1]![0]),
        'grid samples in time order, none twice',
      );
      const gasSamples = await exported(gas);
      const sent = [...captures].sort((a, b) => a - b).map((c): Sample => [c / 1000, Math.round(gasOf(c) * 1000)]);
      // What the meter reported before Node-RED listened may be missing (a capture is on the wire for
      // 5 s here); from the one it first took in, every capture is there, once, with its value.
      const firstTaken = sent.findIndex(([t]) => t * 1000 >= readyCapture);
      assert.deepEqual(
        gasSamples.filter(([t]) => t * 1000 >= readyCapture),
        sent.slice(firstTaken),
        `gas captures stored once each (${captures.size} reported)`,
      );
      assert.ok(
        gasSamples.every(
          ([t, v], i) => (i === 0 || t > gasSamples[i - 1]![0]) && sent.some(([st, sv]) => st === t && sv === v),
        ),
        `only captures the meter sent, once: ${JSON.stringify(gasSamples)}`,
      );
      assert.ok(sent.length - firstTaken >= 8, `${sent.length - firstTaken} gas captures in the run`);
      assert.doesNotMatch(p.run.output(), /unknown sensor|late|overflow|not stored/i, 'no reading refused');
      console.log(
        `# p1 journey: ${(RUN_MS / 60_000).toFixed(0)} simulated minutes at x${SPEED}; ${series.blocks} grid blocks in the series API, ${gridSamples.length} grid samples and ${gasSamples.length} gas captures (each 6 min late) in flm tmpo export`,
      );
    } finally {
      clearInterval(meter);
      await client?.endAsync();
      closeSync(fd);
      await p.run.stop(2000);
      await pty.stop();
      await p.dir.remove();
      await work.remove();
    }
  },
);
