import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { helper, onTab, waitFor, withDataDir, freePort } from '../support/nodered';
import { callsOf, lastStatusOf } from '../support/node-calls';
import { portOpen } from '../support/net';
import { FileRegistry } from '../../core/server/registry';
import { encodeSeries } from '../../core/tmpo/codec';
import { TmpoPyClient } from '../support/tmpo-py-client';

const server = require('../../nodes/flm-server').default;
const serverBridge = require('../../nodes/flm-server-bridge').default;

const DID = 'd8000000000000000000000000000001';
const KEY = 'a8000000000000000000000000000001';
const SID = 'c8000000000000000000000000000001';

afterEach(async () => {
  await helper.unload();
});

test('flm-server with flm-server-bridge: an FLM logs in over MQTT 3.1, its sensor table reaches the registry, its block is served by the REST and tmpo APIs; closing frees the ports', async () => {
  await withDataDir(async (dataDir) => {
    const reg = await FileRegistry.open(join(dataDir, 'server'));
    const token = await reg.addUser('alice');
    // Registered with its sensor: the bridge endpoint takes blocks only of sensors in the device's
    // sync list, which it asks for again at most every 10 s.
    await reg.addDevice(DID, KEY, 'alice', [SID]);
    const apiPort = await freePort();
    await helper.load(
      [server, serverBridge],
      onTab([
        { id: 'srv', type: 'flm-server', dataDir, apiPort: String(apiPort) },
        { id: 'br', type: 'flm-server-bridge', server: 'srv', port: '0', dataDir },
      ]),
    );
    const srv = helper.getNode('srv');
    const br = helper.getNode('br');
    const line = await waitFor('the bridge start line', () =>
      callsOf(br, 'log')
        .map((a) => String(a[0]))
        .find((l) => l.includes('bridge_cafile')),
    );
    const port = Number(/mqtts:\/\/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      ca: await readFile(join(dataDir, 'server-tls', 'ca.crt')),
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      username: DID,
      password: KEY,
      reconnectPeriod: 0,
    });
    // A block of the previous days: 1 Wh a minute (60 W) for an hour.
    const bid = Math.floor((Date.now() / 1000 - 86400) / 256) * 256;
    const times = Array.from({ length: 4 }, (_, i) => bid + i * 60);
    try {
      await client.publishAsync(
        `/device/${DID}/config/sensor`,
        JSON.stringify({
          main: {},
          1: { id: SID, type: 'electricity', class: 'analog', enable: 1, data_type: 'counter' },
        }),
        { retain: true },
      );
      await client.publishAsync(
        `/sensor/${SID}/tmpo/0/8/${bid}/gz`,
        encodeSeries({ times, values: times.map((_, i) => 1000 + i) }, { id: SID }),
      );
      const api = `http://127.0.0.1:${apiPort}`;
      let body: Array<[number, number | 'nan']> = [];
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${api}/sensor/${SID}?start=${bid}&end=${bid + 180}&resolution=60`, {
          headers: { 'X-Version': '1.0', 'X-Token': token },
        });
        if (r.status === 200) body = (await r.json()) as typeof body;
        if (body.length && body.every(([, v]) => v !== 'nan')) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      // The sensor table reached the registry.
      const params = await fetch(`${api}/sensor/${SID}?param=all`, {
        headers: { 'X-Version': '1.0', 'X-Token': token },
      });
      assert.equal(((await params.json()) as { config: { type?: string } }).config.type, 'electricity');
      const first = Math.floor(bid / 60) * 60;
      assert.deepEqual(body[0], [first + 60, first === bid ? 60 : 'nan']);
      assert.ok(
        body.some(([, v]) => v === 60),
        JSON.stringify(body),
      );
      // tmpo-py gets the block's samples back (after the store's checkpoint).
      const py = new TmpoPyClient(api);
      py.add(SID, token);
      for (let i = 0; i < 100 && py.rows.length === 0; i++) {
        await py.sync();
        if (py.rows.length === 0) await new Promise((res) => setTimeout(res, 200));
      }
      assert.deepEqual(py.series(SID), { times, values: [1000, 1001, 1002, 1003] });
      await waitFor('the status line', () => /1 blocks/.test(lastStatusOf(srv).text ?? ''), 10_000);
    } finally {
      await client.endAsync(true);
    }
    await helper.unload();
    assert.equal(await portOpen(apiPort), false);
    assert.equal(await portOpen(port), false);
  });
});

test('flm-server with a bad port shows why in a red status and does not crash', async () => {
  await withDataDir(async (dataDir) => {
    await helper.load([server], onTab([{ id: 'srv', type: 'flm-server', dataDir, apiPort: '70000' }]));
    const srv = helper.getNode('srv');
    await waitFor('the error', () => lastStatusOf(srv).fill === 'red');
    assert.match(lastStatusOf(srv).text, /port/);
  });
});
