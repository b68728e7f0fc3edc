/**
 * `FLM_SOURCE=p1 npm start` with a Belgian meter on a socat pty, as a new user runs it: no
 * table edited. The meter's sensors are derived and become the device's: the sensor table on
 * /device/<did>/config/sensor lists them, Home Assistant discovery holds import and export as
 * separate total_increasing entities, and TMPO stores the electricity counter, which the series
 * API serves. Telegrams are built at run time: current times, a CRC computed here, gas and water
 * captured a little earlier.
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

const DEVICE_ID = '00112233445566778899aabbccddeeff';
const DEVICE_KEY = 'ffeeddccbbaa99887766554433221100';
/** A level-8 TMPO block closes at the next 256 s boundary plus a grace of up to 19 s. */
const FIRST_FLUSH_MS = 300_000;

interface SensorSection { id: string; function: string; class: string; enable: number; p1?: string }

test('FLM_SOURCE=p1 npm start: the meter\'s sensors are published, announced to HA as import and export, stored and served', { timeout: 480_000 }, async () => {
  const work = await tempDir('flm-start-p1-sensors-');
  const pty = await socatPair(join(work.path, 'cable'), join(work.path, 'meter'));
  const fd = openSync(pty.b, constants.O_WRONLY | constants.O_NOCTTY);
  let import1 = 1234.5;
  const meter = setInterval(() => {
    const now = Date.now();
    import1 += 0.001;
    writeSync(fd, Buffer.from(belgianTelegram({ at: now, capturedAt: now - 30_000, registers: [import1, 2000.25, 10, 20.125], gas: 1500.5, water: 80.25 }), 'latin1'));
  }, 1000);
  const p = await startPipeline({ FLM_DEVICE_ID: DEVICE_ID, FLM_DEVICE_KEY: DEVICE_KEY, FLM_SOURCE: 'p1', FLM_SERIAL_PORT: pty.a });
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
    const table = await waitFor('the table with the meter\'s sensors', () => {
      const t = retained.get(tableTopic);
      const sections = t ? Object.values(JSON.parse(t) as Record<string, SensorSection>).filter((s) => s.id) : [];
      return sections.some((s) => s.function === 'water') && sections.some((s) => s.function === 'grid') ? sections : undefined;
    }, 60_000, 100);
    const byName = new Map(table.filter((s) => s.enable === 1).map((s) => [s.function, s]));
    for (const name of ['grid', 'grid import', 'grid export', 'grid import t1', 'grid import t2', 'grid export t1', 'grid export t2', 'gas', 'water']) {
      assert.equal(byName.get(name)?.class, 'cosem', `${name} in ${JSON.stringify(table.map((s) => s.function))}`);
    }
    assert.deepEqual(table.filter((s) => s.class !== 'cosem').map((s) => s.enable), [0, 0, 0, 0], 'the simulator\'s sensors are off');
    const grid = byName.get('grid')!.id;

    // Home Assistant: separate import and export energy, total_increasing, valid configs.
    const entities = await waitFor('import and export entities', () => {
      const list = [...retained].filter(([t]) => t.startsWith(`homeassistant/sensor/${DEVICE_ID}/`)).map(([, v]) => JSON.parse(v));
      const names = new Set(list.map((c) => c.name));
      return names.has('grid import energy') && names.has('grid export t2 energy') && names.has('gas volume') ? list : undefined;
    }, 60_000, 100);
    for (const c of entities) assert.deepEqual(checkHaSensorConfig(c).errors, [], c.name);
    const energy = entities.filter((c) => c.device_class === 'energy' && c.state_class === 'total_increasing').map((c) => c.name).sort();
    assert.deepEqual(energy, ['grid export energy', 'grid export t1 energy', 'grid export t2 energy', 'grid import energy', 'grid import t1 energy', 'grid import t2 energy']);
    assert.ok(!entities.some((c) => c.name === 'main energy'), 'no simulator entities');

    // The local API and the series API answer for the meter's electricity counter; once the
    // first TMPO block is written, the series carries it.
    const local = await fetch(`http://127.0.0.1:${p.api}/sensor/${grid}?version=1.0&interval=minute&unit=watt`);
    assert.equal(local.status, 200, await local.text());
    const start = Math.floor(Date.now() / 60_000) * 60 - 600;
    const series = async () => {
      const r = await fetch(`http://127.0.0.1:${p.api}/sensor/${grid}/series?start=${start}&resolution=minute&unit=counter`, { headers: { 'X-Version': '1.0', 'X-Token': derivedApiToken(DEVICE_KEY) } });
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()) as { blocks: number; series: Array<[number, number | 'nan']> };
    };
    let last = await series();
    // Polled by hand: each probe is a request.
    const until = Date.now() + FIRST_FLUSH_MS;
    while (last.blocks === 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 2000));
      last = await series();
    }
    assert.ok(last.blocks > 0, `no block after ${FIRST_FLUSH_MS / 1000} s:\n${p.run.output().slice(-2000)}`);
    const values = last.series.map(([, v]) => v).filter((v): v is number => typeof v === 'number');
    assert.ok(values.length > 0 && values.every((v) => v >= 1234500 + 2000250 - 10000 - 20125), JSON.stringify(values));
    assert.doesNotMatch(p.run.output(), /unknown sensor/);
    assert.equal(await p.run.stop(), 0, p.run.output());
  } finally {
    clearInterval(meter);
    await client?.endAsync();
    closeSync(fd);
    await p.run.stop(2000);
    await pty.stop();
    await p.dir.remove();
    await work.remove();
  }
});
