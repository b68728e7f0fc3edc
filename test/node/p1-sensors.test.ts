/**
 * A P1 meter on the default flow's device (the simulator's sensor table, source p1): flm-p1 ->
 * flm-sensor -> flm-tmpo, flm-homeassistant and flm-upload, with no hand edits. The meter's sensors are
 * derived, stored, served by the local API, published in the sensor table and announced; they
 * survive a restart; switching the source back to the simulator removes them from HA.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir, freePort } from '../support/nodered';
import { derivedApiToken } from '../../core/api/auth';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY } from '../support/device';
import { checkHaSensorConfig } from '../support/ha-sensor-schema';
import { belgianTelegram } from '../support/p1-telegrams';
import { decodeSeries } from '../../core/tmpo/codec';
import { deriveSensorId } from '../../core/config/identity';
import { FluksoTestServer } from '../support/flukso-server';

afterEach(async () => {
  await helper.unload();
});

const creds = { dev: { deviceKey: DEVICE_KEY } };
const CONFIG_TOPIC = `/device/${DEVICE_ID}/config/sensor`;

function flow(dataDir: string, apiPort: number, source: string) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS, source },
    {
      id: 'p1',
      type: 'flm-p1',
      source: 'input',
      crc: 'strict',
      variant: 'arc',
      watchdog: '0',
      when: source,
      wires: [['sensor', 'ha']],
    },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['tmpo', 'ha', 'readings']] },
    {
      id: 'tmpo',
      type: 'flm-tmpo',
      device: 'dev',
      maxMB: '0',
      apiHost: '127.0.0.1',
      apiPort: String(apiPort),
      wires: [['blocks']],
    },
    {
      id: 'ha',
      type: 'flm-homeassistant',
      device: 'dev',
      prefix: 'homeassistant',
      deviceName: '',
      wires: [['announced']],
    },
    { id: 'readings', type: 'helper' },
    { id: 'blocks', type: 'helper' },
    { id: 'announced', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

interface Msg {
  topic: string;
  payload: any;
  flm?: { name: string; sid: string };
}

/** The latest discovery config per entity name, as HA would hold it (an empty payload removes it). */
function haEntities(msgs: Msg[]): Map<string, { topic: string; cfg: any }> {
  const byTopic = new Map<string, string>();
  for (const m of msgs) if (m.topic.endsWith('/config')) byTopic.set(m.topic, m.payload);
  const out = new Map<string, { topic: string; cfg: any }>();
  for (const [topic, payload] of byTopic) {
    if (payload === '') continue;
    const cfg = JSON.parse(payload);
    out.set(cfg.name, { topic, cfg });
  }
  return out;
}

const tableNames = (msgs: Msg[]) => {
  const last = msgs.filter((m) => m.topic === CONFIG_TOPIC).at(-1);
  if (!last) return undefined;
  return Object.entries(last.payload as Record<string, { function?: string; enable?: number }>)
    .filter(([k]) => /^\d+$/.test(k))
    .map(([, s]) => `${s.function}${s.enable ? '' : ' (off)'}`);
};

test(
  "flm-p1 -> flm-sensor -> flm-tmpo + flm-homeassistant: a P1 meter's sensors are stored, served, published and announced with no hand edits",
  { timeout: 120_000 },
  async () => {
    await withDataDir(async (dir) => {
      const apiPort = await freePort();
      await helper.load(flmNodes, flow(dir, apiPort, 'p1'), creds);
      const readings: Msg[] = collect('readings');
      const blocks: Msg[] = collect('blocks');
      const announced: Msg[] = collect('announced');
      const caught = collect('caught');
      await waitFor('the first announcement', () => announced.some((m) => m.topic === `flm/${DEVICE_ID}/availability`));
      // Before the meter speaks, the simulator's sensors are not announced: the source is p1.
      assert.deepEqual([...haEntities(announced).keys()], []);

      const now = Date.now();
      const at = Math.floor(now / 1000) * 1000;
      const p1 = helper.getNode('p1');
      p1.receive({
        payload: belgianTelegram({
          at: at - 2000,
          capturedAt: at - 60_000,
          registers: [1000.5, 2000.25, 10, 20.125],
          gas: 1500.5,
          water: 80.25,
        }),
      });
      p1.receive({
        payload: belgianTelegram({
          at: at - 1000,
          capturedAt: at - 60_000,
          registers: [1000.501, 2000.25, 10, 20.125],
          gas: 1500.5,
          water: 80.25,
        }),
      });

      const grid = await waitFor('the grid counter', () =>
        readings.find((m) => m.flm?.name === 'grid' && m.topic.endsWith('/counter')),
      );
      assert.deepEqual(grid.payload, [at / 1000 - 2, 1000500 + 2000250 - 10000 - 20125, 'Wh']);
      const gridSid = grid.flm!.sid;

      // Home Assistant: import and export per tariff and in total, as the Energy dashboard wants them.
      await waitFor(
        'the meter announced',
        () => haEntities(announced).has('grid export t2 energy') && haEntities(announced).has('water volume'),
      );
      const e = haEntities(announced);
      for (const [name, { cfg }] of e) assert.deepEqual(checkHaSensorConfig(cfg).errors, [], name);
      for (const name of [
        'grid import energy',
        'grid import t1 energy',
        'grid import t2 energy',
        'grid export energy',
        'grid export t1 energy',
        'grid export t2 energy',
      ]) {
        assert.deepEqual(
          [e.get(name)?.cfg.state_class, e.get(name)?.cfg.unit_of_measurement],
          ['total_increasing', 'kWh'],
          name,
        );
      }
      assert.equal(e.get('grid energy')?.cfg.state_class, 'total');
      assert.deepEqual(
        [e.get('gas volume')?.cfg.device_class, e.get('gas volume')?.cfg.device.via_device],
        ['gas', DEVICE_ID],
      );
      assert.equal(e.get('main energy'), undefined);

      // The published table: the simulator's sensors off, the meter's after them.
      await waitFor('the table with the meter', () => tableNames(readings)?.includes('grid'));
      assert.deepEqual(tableNames(readings), [
        'main (off)',
        'solar (off)',
        'gas (off)',
        'water (off)',
        'grid',
        'grid import',
        'grid export',
        'grid import t1',
        'grid export t1',
        'grid import t2',
        'grid export t2',
        'gas',
        'water',
      ]);

      // The local API answers for the meter's sensor, and its counter is stored.
      const local = await fetch(`http://127.0.0.1:${apiPort}/sensor/${gridSid}?version=1.0&interval=minute&unit=watt`);
      assert.equal(local.status, 200, await local.clone().text());
      assert.ok(Array.isArray(await local.json()));
      helper.getNode('tmpo').receive({ topic: 'tmpo/flush' });
      const block = await waitFor("the grid counter's block", () =>
        blocks.find((m) => m.topic.startsWith(`/sensor/${gridSid}/tmpo/`)),
      );
      assert.deepEqual(decodeSeries(block.payload).values, [2970625, 2970626]);
      const series = await fetch(
        `http://127.0.0.1:${apiPort}/sensor/${gridSid}/series?start=${Math.floor(at / 1000 / 60) * 60 - 600}&resolution=minute`,
        { headers: { 'X-Version': '1.0', 'X-Token': derivedApiToken(DEVICE_KEY) } },
      );
      assert.equal(series.status, 200, await series.clone().text());
      assert.equal((await series.json()).blocks, 1);
      assert.deepEqual(
        caught.map((c) => c.error.message),
        [],
        'no reading refused',
      );

      // A restart: the meter's sensors are known before it speaks again, and stay announced.
      await helper.unload();
      await helper.load(flmNodes, flow(dir, apiPort, 'p1'), creds);
      const again: Msg[] = collect('announced');
      const table: Msg[] = collect('readings');
      await waitFor(
        'announced after the restart',
        () => haEntities(again).has('grid import t1 energy') && haEntities(again).has('gas volume'),
      );
      assert.equal(haEntities(again).get('grid energy')?.topic, e.get('grid energy')?.topic, 'the same ids');
      assert.deepEqual(
        again.filter((m) => m.payload === '').map((m) => m.topic),
        [],
        'nothing removed',
      );
      await waitFor('the table', () => tableNames(table)?.includes('grid'));

      // Back to the simulator: the meter's entities go from HA, the household's come.
      await helper.unload();
      await helper.load(flmNodes, flow(dir, apiPort, 'simulator'), creds);
      const sim: Msg[] = collect('announced');
      await waitFor('the household announced', () => haEntities(sim).has('main energy'));
      const removed = sim.filter((m) => m.payload === '').map((m) => m.topic);
      assert.ok(
        removed.includes(e.get('grid import t1 energy')!.topic) && removed.includes(e.get('gas volume')!.topic),
        removed.join('\n'),
      );
      assert.equal(haEntities(sim).get('grid energy'), undefined);
    });
  },
);

test("flm-in's readings, which describe themselves in msg.flm, become the device's sensors: stored and published", async () => {
  await withDataDir(async (dir) => {
    const apiPort = await freePort();
    await helper.load(flmNodes, flow(dir, apiPort, 'p1'), creds);
    const blocks: Msg[] = collect('blocks');
    const caught = collect('caught');
    const announced: Msg[] = collect('announced');
    await waitFor('started', () => blocks.length > 0 && announced.length > 0);
    const remote = '1234567890abcdef1234567890abcdef';
    const ts = Math.floor(Date.now() / 1000) - 5;
    // What flm-in sends for another FLM's sensor, as its config topic names it.
    const flm = {
      sid: remote,
      kind: 'counter',
      name: 'their main',
      type: 'electricity',
      class: 'analog',
      unit: 'Wh',
      deviceId: 'ffffffffffffffffffffffffffffffff',
    };
    for (const [i, tmpoOrHa] of [
      ['tmpo', 'ha'],
      ['tmpo', 'ha'],
    ].entries()) {
      for (const id of tmpoOrHa)
        helper.getNode(id).receive({ topic: `/sensor/${remote}/counter`, payload: [ts + i, 500 + i, 'Wh'], flm });
    }
    helper.getNode('tmpo').receive({ topic: 'tmpo/flush' });
    const block = await waitFor('their counter stored', () =>
      blocks.find((m) => m.topic.startsWith(`/sensor/${remote}/tmpo/`)),
    );
    assert.deepEqual(decodeSeries(block.payload).values, [500, 501]);
    await waitFor('announced to HA', () => haEntities(announced).has('their main energy'));
    assert.deepEqual(
      caught.map((c) => c.error.message),
      [],
    );
  });
});

test("flm-upload queues and sends a P1 meter's counters under their derived ids", async () => {
  const meter = '1SAG3101021605'; // the fixture's equipment id: sensor ids derive from it
  const grid = deriveSensorId(DEVICE_ID, `${meter}:net`);
  const importT1 = deriveSensorId(DEVICE_ID, `${meter}:delivered:t1`);
  const server = await FluksoTestServer.start({
    devices: [{ id: DEVICE_ID, key: DEVICE_KEY, sensors: [grid, importT1] }],
  });
  try {
    await withDataDir(async (dir) => {
      await helper.load(
        flmNodes,
        onTab([
          {
            id: 'dev',
            type: 'flm-device',
            deviceId: DEVICE_ID,
            dataDir: dir,
            sensors: HOUSEHOLD_SENSORS,
            source: 'p1',
          },
          { id: 'p1', type: 'flm-p1', source: 'input', crc: 'strict', watchdog: '0', wires: [['sensor']] },
          { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['up']] },
          {
            id: 'up',
            type: 'flm-upload',
            device: 'dev',
            serverUrl: server.url,
            interval: '1',
            filters: 'off',
            heartbeat: 'off',
          },
          { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
          { id: 'caught', type: 'helper' },
        ]),
        creds,
      );
      const caught = collect('caught');
      const at = Math.floor(Date.now() / 1000) * 1000;
      helper.getNode('p1').receive({
        payload: belgianTelegram({
          at: at - 1000,
          capturedAt: at - 60_000,
          registers: [1000.5, 2000.25, 10, 20.125],
          gas: 1500.5,
          water: 80.25,
        }),
      });
      await waitFor(
        'the grid counter and the t1 import on the server',
        () => server.count(grid) === 1 && server.count(importT1) === 1,
        15_000,
      );
      assert.deepEqual(server.readings(grid), [[at / 1000 - 1, 2970625]]);
      assert.deepEqual(server.readings(importT1), [[at / 1000 - 1, 1000500]]);
      assert.deepEqual(
        caught.map((c) => c.error.message),
        [],
      );
    });
  } finally {
    await server.close();
  }
});
