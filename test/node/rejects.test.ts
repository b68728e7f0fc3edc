import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { helper, flmNodes, onTab, waitFor, collect, withDataDir, freePort } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { fixture } from '../unit/p1/fixtures';

afterEach(async () => {
  await helper.unload();
});

/**
 * A source that sends a bad message a second must not make a log line a second: every node's
 * per-message errors reach Catch once per kind a minute, the rest of the burst is counted and
 * completes quietly, and another kind of error is reported at once.
 */
function flow(dataDir: string, node: Record<string, unknown>) {
  return onTab([
    { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir, sensors: HOUSEHOLD_SENSORS },
    { id: 'x', wires: [[]], ...node },
    { id: 'catch', type: 'catch', scope: ['x'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    { id: 'complete', type: 'complete', scope: ['x'], uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper' },
  ]);
}
const creds = { dev: { deviceKey: DEVICE_KEY } };

async function burst(
  dir: string,
  node: Record<string, unknown>,
  bad: (i: number) => Record<string, unknown>,
  other: Record<string, unknown>,
): Promise<any[]> {
  await helper.load(flmNodes, flow(dir, node), creds);
  const caught = collect('caught');
  const completed = collect('completed');
  const x = helper.getNode('x');
  for (let i = 0; i < 5; i++) x.receive({ ...bad(i), n: i });
  await waitFor('four quiet completions', () => completed.length === 4);
  assert.equal(caught.length, 1, 'the first of the burst at Catch');
  assert.equal(caught[0].n, 0, 'with its own message');
  x.receive(other);
  await waitFor('another kind at once', () => caught.length === 2);
  return caught;
}

const cases: Array<
  [string, Record<string, unknown>, (i: number) => Record<string, unknown>, Record<string, unknown>, RegExp, RegExp]
> = [
  [
    'flm-tmpo',
    { type: 'flm-tmpo', device: 'dev', maxMB: '0', apiPort: '' },
    (i) => ({ topic: `/sensor/${String(i).repeat(32)}/counter`, payload: [1750507008 + i, i, 'Wh'] }),
    { topic: 'hello', payload: 1 },
    /unknown sensor 0{32}/,
    /not a reading topic/,
  ],
  [
    'flm-homeassistant',
    { type: 'flm-homeassistant', device: 'dev', prefix: 'homeassistant', deviceName: '' },
    (i) => ({ topic: `hello/${i}`, payload: 1 }),
    { topic: 'p1/availability', payload: 'maybe' },
    /topic "hello\/0"/,
    /"online" or "offline"/,
  ],
  [
    'flm-openhab',
    { type: 'flm-openhab', url: 'http://127.0.0.1:9', units: 'units', items: [], homie: 'off', homieName: '' },
    (i) => ({ topic: `/sensor/${sid(1)}/gauge`, payload: `x${i}` }),
    { topic: 'hello', payload: 1 },
    /\[ts,value,"unit"\]/,
    /not a reading/,
  ],
  [
    'flm-pulse',
    { type: 'flm-pulse', port: '7', trigger: 'falling', debounce: '0', tick: '0' },
    (i) => ({ payload: `level ${i}` }),
    { payload: 0, timestamp: 'soon' },
    /must be a pin level .*, not "level 0"/,
    /msg\.timestamp must be Unix milliseconds/,
  ],
  [
    'flm-p1',
    { type: 'flm-p1', source: 'input', crc: 'strict', variant: 'arc', watchdog: '0' },
    (i) => ({ payload: i }),
    { payload: 'no telegram here' },
    /msg\.payload must be telegram text or a Buffer, not number/,
    /no telegram in the message/,
  ],
];

for (const [name, node, bad, other, first, second] of cases) {
  test(`${name}: a burst of one bad message is one error at Catch and quiet completions; another kind is reported at once`, async () => {
    await withDataDir(async (dir) => {
      const caught = await burst(dir, node, bad, other);
      assert.match(caught[0].error.message, first);
      assert.match(caught[1].error.message, second);
    });
  });
}

test('flm-tmpo: the burst is counted in the status', async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      flow(dir, { type: 'flm-tmpo', device: 'dev', maxMB: '0', apiPort: String(await freePort()) }),
      creds,
    );
    const x = helper.getNode('x');
    const seen: any[] = [];
    x.on('call:status', (c: any) => seen.push(c.args[0]));
    for (let i = 0; i < 5; i++)
      x.receive({ topic: `/sensor/${'f'.repeat(32)}/counter`, payload: [1750507008 + i, i, 'Wh'] });
    await waitFor('5 rejects in the status', () => seen.some((s) => /^5 rejects: unknown sensor/.test(s.text ?? '')));
  });
});

test('flm-p1: telegrams of a backlog that only the newest of is used are counted in the status', async () => {
  await withDataDir(async (dir) => {
    await helper.load(
      flmNodes,
      flow(dir, { type: 'flm-p1', source: 'input', crc: 'strict', variant: 'arc', watchdog: '0' }),
      creds,
    );
    const x = helper.getNode('x');
    const seen: any[] = [];
    x.on('call:status', (c: any) => seen.push(c.args[0]));
    x.receive({ payload: fixture('dsmr5-nl.txt') + fixture('dsmr5-be-fluvius.txt') + fixture('dsmr5-nl.txt') });
    await waitFor('one used, two counted', () => seen.some((s) => s.text === '1 ok · 2 skipped'));
  });
});

test('flm-broker: a burst of one bad message is one error at Catch; another kind at once', async () => {
  await withDataDir(async (dir) => {
    const caught = await burst(
      dir,
      { type: 'flm-broker', host: '127.0.0.1', port: String(await freePort()), wsPort: '', access: 'open' },
      (i) => ({ topic: `a/+/${i}`, payload: 1 }),
      { payload: 1 },
    );
    assert.match(caught[0].error.message, /cannot publish on a wildcard topic: a\/\+\/0/);
    assert.match(caught[1].error.message, /msg\.topic is required/);
  });
});
