/**
 * flm-openhab follows the device's sensor set: a P1 meter's sensors, derived after the start,
 * get REST item updates and Homie nodes; the table's sensors no source feeds get none; a switch
 * of source clears the meter's nodes from the broker.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir, freePort } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY } from '../support/device';
import { OpenHabServer } from '../support/openhab-server';
import { checkHomie, type Retained } from '../support/homie';
import { belgianTelegram } from '../support/p1-telegrams';

const TOKEN = 'oh.nodered.p1';
const creds = { dev: { deviceKey: DEVICE_KEY }, oh: { token: TOKEN } };
const HOMIE = `homie/${DEVICE_ID}`;

let server: OpenHabServer;
before(async () => {
  server = await new OpenHabServer({ token: TOKEN, items: {} }).start();
});
after(() => server.close());
afterEach(() => helper.unload());

function flow(dataDir: string, port: number, source: string) {
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
      wires: [['sensor']],
    },
    { id: 'sensor', type: 'flm-sensor', device: 'dev', wires: [['oh']] },
    {
      id: 'oh',
      type: 'flm-openhab',
      device: 'dev',
      url: server.url,
      units: 'units',
      items: [],
      homie: 'on',
      homieName: '',
      wires: [['broker', 'out']],
    },
    { id: 'broker', type: 'flm-broker', host: '127.0.0.1', port: String(port), wsPort: '', access: 'open' },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

interface Msg {
  topic: string;
  payload: string;
  retain?: boolean;
}

/** What a broker that kept its retained messages holds after these (an empty payload deletes). */
function retainedAfter(msgs: Msg[], into = new Map<string, Retained>()): Map<string, Retained> {
  for (const m of msgs) {
    if (!m.topic.startsWith('homie/')) continue;
    if (m.payload === '') into.delete(m.topic);
    else into.set(m.topic, { payload: m.payload, retain: m.retain === true });
  }
  return into;
}

/** Everything the running broker retains under homie/, once the device is ready and nothing new came for 300 ms. */
async function brokerRetained(port: number, done: (got: Map<string, Retained>) => boolean) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const got = new Map<string, Retained>();
  client.on('message', (topic, p, packet) => got.set(topic, { payload: p.toString(), retain: packet.retain }));
  await client.subscribeAsync('homie/#', { qos: 1 });
  let count = -1;
  let quietSince = Date.now();
  await waitFor(
    'the retained Homie device',
    () => {
      if (got.size !== count) [count, quietSince] = [got.size, Date.now()];
      return done(got) && Date.now() - quietSince >= 300;
    },
    10_000,
    50,
  );
  await client.endAsync();
  return got;
}

const nodesOf = (m: Map<string, Retained>) => (m.get(`${HOMIE}/$nodes`)?.payload ?? '').split(',').filter(Boolean);

test("flm-openhab: a P1 meter's sensors, derived after the start, get openHAB items and Homie nodes; a switch of source clears them", async () => {
  await withDataDir(async (dir) => {
    const port = await freePort();
    for (const item of ['flm_grid_energy', 'flm_grid_power', 'flm_grid_import_t1_energy', 'flm_gas_volume'])
      server.addItem(item);
    await helper.load(flmNodes, flow(dir, port, 'p1'), creds);
    const out: Msg[] = collect('out');
    const caught = collect('caught');
    await waitFor('Homie described', () => out.some((m) => m.topic === `${HOMIE}/$homie`));
    // The source is p1: the table's clamps and pulse inputs are not fed, so not described; with
    // no node yet the device stays in init (an empty $nodes is no retained message).
    const early = retainedAfter(out);
    assert.deepEqual(nodesOf(early), []);
    assert.equal(early.get(`${HOMIE}/$state`)?.payload, 'init');

    const at = Math.floor(Date.now() / 1000) * 1000;
    const p1 = helper.getNode('p1');
    for (const [i, delivered] of [1000.5, 1000.501].entries())
      p1.receive({
        payload: belgianTelegram({
          at: at - 2000 + i * 1000,
          capturedAt: at - 60_000,
          registers: [delivered, 2000.25, 10, 20.125],
          gas: 1500.5,
          water: 80.25,
        }),
      });

    await waitFor('the grid counter in openHAB', () => server.statesOf('flm_grid_energy').length > 0);
    await waitFor('the gas volume in openHAB', () => server.statesOf('flm_gas_volume').length > 0);
    assert.deepEqual(server.statesOf('flm_gas_volume'), ['1500500 l']);
    assert.ok(server.statesOf('flm_grid_import_t1_energy').length > 0);

    const homie = await brokerRetained(port, (got) => nodesOf(got).includes('water'));
    assert.deepEqual(checkHomie(homie).problems, []);
    assert.equal(homie.get(`${HOMIE}/$state`)?.payload, 'ready');
    assert.deepEqual(nodesOf(homie), [
      'grid',
      'grid-import',
      'grid-export',
      'grid-import-t1',
      'grid-export-t1',
      'grid-import-t2',
      'grid-export-t2',
      'gas',
      'water',
    ]);
    assert.equal(homie.get(`${HOMIE}/gas/volume`)?.payload, '1500500');
    assert.equal(homie.get(`${HOMIE}/grid/$type`)?.payload, 'electricity');
    assert.equal(homie.get(`${HOMIE}/main/$name`), undefined, 'no node for an unfed clamp');
    const before = retainedAfter(out);
    assert.deepEqual(
      caught.map((c) => c.error.message).filter((t) => !/openHAB has no item/.test(t)),
      [],
    );

    // Back to the simulator: a broker that kept what it had sees the meter's nodes cleared, the household's described.
    await helper.unload();
    await helper.load(flmNodes, flow(dir, port, 'simulator'), creds);
    const again: Msg[] = collect('out');
    await waitFor('Homie ready again', () => again.some((m) => m.topic === `${HOMIE}/$state` && m.payload === 'ready'));
    const kept = retainedAfter(again, before);
    assert.deepEqual(nodesOf(kept), ['main', 'solar', 'gas', 'water']);
    assert.deepEqual(checkHomie(kept, 'homie', { requireValues: false }).problems, []);
    assert.deepEqual(
      [...kept.keys()].filter((t) => t.startsWith(`${HOMIE}/grid`)),
      [],
      "no topic of the meter's nodes is left",
    );
  });
});
