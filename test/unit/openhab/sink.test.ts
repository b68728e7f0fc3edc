import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenHabSink, ItemNames, type HomieMessage, type HomieStructure } from '../../../core/sinks/openhab';
import { OpenHabServer } from '../../support/openhab-server';
import { waitFor } from '../../support/nodered';
import type { Sensor } from '../../../core/config/schema';
import { device, sid, DEVICE_ID } from '../../support/device';

const T = 1_750_000_000;
const P1_SID = 'b'.repeat(32);
const reading = (s: string, kind: 'gauge' | 'counter', value: number, unit: string) => ({
  topic: `/sensor/${s}/${kind}`,
  payload: [T, value, unit],
});

interface Msg {
  n: number;
}

function sink(
  opts: {
    rest?: string;
    token?: string;
    homie?: boolean;
    previous?: HomieStructure;
    isLive?: (s: Sensor) => boolean;
  } = {},
) {
  const published: HomieMessage[] = [];
  const errors: Array<{ text: string; msg: Msg | undefined }> = [];
  const saved: HomieStructure[] = [];
  const s = new OpenHabSink<Msg>({
    device: device(),
    ...(opts.isLive ? { isLive: opts.isLive } : {}),
    names: new ItemNames(),
    format: 'units',
    ...(opts.rest ? { rest: { url: opts.rest, token: opts.token ?? '' } } : {}),
    ...(opts.homie
      ? {
          homie: {
            name: '',
            loadPrevious: () => Promise.resolve(opts.previous ?? {}),
            save: (x: HomieStructure) => {
              saved.push(x);
              return Promise.resolve();
            },
          },
        }
      : {}),
    publish: (msgs) => published.push(...msgs),
    error: (text, msg) => errors.push({ text, msg }),
    log: () => undefined,
    onSaveError: (err) => assert.fail(String(err)),
    onStatus: () => undefined,
  });
  return { s, published, errors, saved };
}

test('Homie: nothing before announce; announce once; values, a sensor learnt from msg.flm, disconnected at close', async () => {
  const h = sink({ homie: true });
  h.s.input({ msg: { n: 1 }, ...reading(sid(1), 'gauge', 230, 'W') });
  assert.equal(h.published.length, 0, 'readings before the announcement are not published');
  assert.equal(h.s.status(0).text, 'homie starting');
  await h.s.announce();
  await h.s.announce();
  const state = (p: string) =>
    h.published.filter((m) => m.topic === `homie/${DEVICE_ID}/$state` && m.payload === p).length;
  assert.equal(state('ready'), 1, 'announced once');
  h.s.input({ msg: { n: 2 }, ...reading(sid(1), 'gauge', 231, 'W') });
  assert.equal(h.published.at(-1)?.topic, `homie/${DEVICE_ID}/main/power`);
  assert.throws(
    () => h.s.input({ msg: { n: 3 }, ...reading(P1_SID, 'counter', 5, 'Wh') }),
    /has no msg\.flm \(name, type\): Homie cannot describe it/,
  );
  h.s.input({ msg: { n: 4 }, ...reading(P1_SID, 'counter', 5, 'Wh'), flm: { name: 'p1', type: 'electricity' } });
  assert.equal(state('ready'), 2, 'ready again after the new node');
  h.s.input({
    msg: { n: 5 },
    ...reading('c'.repeat(32), 'counter', 5, 'Wh'),
    flm: { name: 'x', type: 'electricity', deviceId: 'e'.repeat(32) },
  });
  assert.ok(!h.published.some((m) => m.topic.includes('/x/')), "another device's reading is passed over");
  for (const topic of [`/device/${DEVICE_ID}/config/sensor`, 'p1/telegram'])
    h.s.input({ msg: { n: 6 }, topic, payload: '{}' });
  assert.throws(() => h.s.input({ msg: { n: 7 }, topic: 'nonsense', payload: 1 }), /not a reading: topic "nonsense"/);
  assert.throws(
    () => h.s.input({ msg: { n: 8 }, topic: `/sensor/${sid(1)}/gauge`, payload: [T, 'x', 'W'] }),
    /payload must be \[ts,value,"unit"\]/,
  );
  assert.match(h.s.status(2).text, /^homie\/01234567… · 2 rejects$/);
  await h.s.close();
  assert.deepEqual(h.published.at(-1), {
    topic: `homie/${DEVICE_ID}/$state`,
    payload: 'disconnected',
    retain: true,
    qos: 1,
  });
  assert.ok(Object.keys(h.saved.at(-1) ?? {}).length > 0, 'the structure saved');
});

test('REST: item states sent to openHAB; a missing item is an error with the reading that caused it', async () => {
  const server = await new OpenHabServer({ token: 'tok', items: { flm_main_power: 'Number:Power' } }).start();
  const h = sink({ rest: server.url, token: 'tok' });
  try {
    h.s.input({ msg: { n: 1 }, ...reading(sid(1), 'gauge', 230, 'W') });
    await waitFor('the state', () => server.statesOf('flm_main_power').length === 1);
    assert.deepEqual(server.statesOf('flm_main_power'), ['230 W']);
    h.s.input({ msg: { n: 2 }, ...reading(sid(3), 'counter', 12, 'L') });
    await waitFor('the error', () => h.errors.length === 1);
    assert.match(h.errors[0]!.text, /^openHAB has no item "flm_gas_volume"/);
    assert.deepEqual(h.errors[0]!.msg, { n: 2 });
    await waitFor('counted', () => /^1 sent · 1 items missing$/.test(h.s.status(0).text));
  } finally {
    await h.s.close();
    await server.close();
  }
});

test("the device's sensor set changes: items named from it; Homie describes the live ones, keeps what readings taught, clears the rest", async () => {
  const server = await new OpenHabServer({ token: 'tok', items: { flm_grid_energy: 'Number:Energy' } }).start();
  const d = device();
  const grid = { ...d.sensors[0]!, id: P1_SID, name: 'grid', n: 9 };
  const live = new Set([sid(1), P1_SID]);
  const h = sink({ rest: server.url, token: 'tok', homie: true, isLive: (s) => s.enable && live.has(s.id) });
  try {
    await h.s.announce();
    const nodes = () => h.published.filter((m) => m.topic === `homie/${DEVICE_ID}/$nodes`).at(-1)?.payload;
    assert.equal(nodes(), 'main');
    h.s.input({
      msg: { n: 1 },
      ...reading('c'.repeat(32), 'gauge', 5, 'W'),
      flm: { name: 'their', type: 'electricity' },
    });
    assert.equal(nodes(), 'main,their');

    h.s.setSensors([...d.sensors, grid]);
    assert.equal(nodes(), 'main,grid,their');
    h.s.input({ msg: { n: 2 }, ...reading(P1_SID, 'counter', 7, 'Wh') });
    await waitFor('the grid item', () => server.statesOf('flm_grid_energy').length === 1);
    assert.equal(h.published.at(-1)?.topic, `homie/${DEVICE_ID}/grid/energy`);
    const count = h.published.length;
    h.s.setSensors([...d.sensors, grid]);
    assert.equal(h.published.length, count, 'nothing new: nothing published');

    live.delete(sid(1));
    h.s.setSensors([...d.sensors, grid]);
    assert.equal(nodes(), 'grid,their');
    const cleared = h.published
      .slice(count)
      .filter((m) => m.payload === '')
      .map((m) => m.topic);
    assert.ok(cleared.includes(`homie/${DEVICE_ID}/main/$name`) && cleared.includes(`homie/${DEVICE_ID}/main/power`));
    await waitFor('the structure saved', () => Object.keys(h.saved.at(-1) ?? {}).join() === 'grid,their');
  } finally {
    await h.s.close();
    await server.close();
  }
});
