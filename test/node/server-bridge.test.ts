import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { helper, onTab, waitFor, withDataDir } from '../support/nodered';
import { callsOf, lastStatusOf } from '../support/node-calls';
import { portOpen } from '../support/net';
import { repoRoot } from '../support/paths';
import { MemoryBridgeBackend } from '../support/memory-bridge-backend';
import mqemitter from 'mqemitter';
import memoryPersistence from 'aedes-persistence';

const serverBridge = require('../../nodes/flm-server-bridge').default;

const DID = 'd9000000000000000000000000000001';
const KEY = 'a9000000000000000000000000000001';
const SID = 'c9000000000000000000000000000001';

afterEach(async () => {
  await helper.unload();
});

let backend = new MemoryBridgeBackend();
let cluster: { mq: unknown; persistence: unknown } | undefined;
/** Stands in for the server's node: whatever offers bridgeBackend() (nodes/lib/server-bridge-settings.ts). */
function fakeServer(RED: any) {
  RED.nodes.registerType('flm-server-fake', function (this: any, def: any) {
    RED.nodes.createNode(this, def);
    this.bridgeBackend = () => backend;
    this.bridgeCluster = () => cluster;
  });
}

/** The port of a bridge node, from its start line. */
async function portOf(id: string): Promise<number> {
  const line = await waitFor(`${id}'s start line`, () =>
    callsOf(helper.getNode(id), 'log')
      .map((a) => String(a[0]))
      .find((l) => l.includes('mqtts://')),
  );
  return Number(/mqtts:\/\/127\.0\.0\.1:(\d+)/.exec(line)![1]);
}

// The server node after the bridge: it is created later, and the bridge waits for it.
const flow = (dataDir: string, bridge: Record<string, unknown> = {}) =>
  onTab([
    { id: 'br', type: 'flm-server-bridge', server: 'srv', port: '0', dataDir, ...bridge },
    { id: 'srv', type: 'flm-server-fake' },
  ]);

test('flm-server-bridge makes its CA and certificate in <data>/server-tls, names the CA file in the log, and takes an FLM logging in with MQTT 3.1; closing frees the port', async () => {
  backend = new MemoryBridgeBackend().addDevice(DID, KEY, [SID]);
  await withDataDir(async (dataDir) => {
    await helper.load([fakeServer, serverBridge], flow(dataDir));
    const br = helper.getNode('br');
    const line = await waitFor('the start line', () =>
      callsOf(br, 'log')
        .map((a) => String(a[0]))
        .find((l) => l.includes('bridge_cafile')),
    );
    const caFile = join(dataDir, 'server-tls', 'ca.crt');
    assert.ok(line.includes(caFile), line);
    assert.equal((await stat(join(dataDir, 'server-tls', 'server.key'))).mode & 0o777, 0o600);
    const port = Number(/mqtts:\/\/127\.0\.0\.1:(\d+)/.exec(line)![1]);
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
      ca: await readFile(caFile),
      protocolId: 'MQIsdp',
      protocolVersion: 3,
      username: DID,
      password: KEY,
      reconnectPeriod: 0,
    });
    const got: string[] = [];
    client.on('message', (t, p) => got.push(`${t} ${p}`));
    try {
      await waitFor('the sync reply', () => got.length === 1);
      assert.equal(got[0], `/d/device/${DID}/tmpo/sync [{"sid":"${SID}","rid":0,"lvl":0,"bid":0}]`);
      await waitFor('the status', () => lastStatusOf(br).text.startsWith('1 FLM ·'));
    } finally {
      await client.endAsync(true);
    }
    await helper.unload();
    assert.equal(await portOpen(port), false);
  });
});

test('flm-server-bridge without a server node, or with a wrong setting, shows why in a red status and does not crash', async () => {
  await withDataDir(async (dataDir) => {
    await helper.load(
      [fakeServer, serverBridge],
      onTab([
        { id: 'br', type: 'flm-server-bridge', server: '', port: '0', dataDir },
        { id: 'br2', type: 'flm-server-bridge', server: 'srv', port: '70000', dataDir },
        { id: 'srv', type: 'flm-server-fake' },
      ]),
    );
    const br = helper.getNode('br');
    await waitFor('the error', () => lastStatusOf(br).fill === 'red');
    assert.match(lastStatusOf(br).text, /Flukso server node/);
    const br2 = helper.getNode('br2');
    await waitFor('the error', () => lastStatusOf(br2).fill === 'red');
    assert.match(lastStatusOf(br2).text, /port/);
  });
});

test("two flm-server-bridge nodes on the server node's shared emitter and persistence act as one namespace: a device logging in on the second is let go on the first", async () => {
  backend = new MemoryBridgeBackend().addDevice(DID, KEY, [SID]);
  cluster = { mq: mqemitter(), persistence: memoryPersistence() };
  try {
    await withDataDir(async (dataDir) => {
      await helper.load(
        [fakeServer, serverBridge],
        onTab([
          { id: 'srv', type: 'flm-server-fake' },
          { id: 'one', type: 'flm-server-bridge', server: 'srv', port: '0', dataDir },
          { id: 'two', type: 'flm-server-bridge', server: 'srv', port: '0', dataDir },
        ]),
      );
      const [p1, p2] = [await portOf('one'), await portOf('two')];
      const opts = {
        ca: await readFile(join(dataDir, 'server-tls', 'ca.crt')),
        protocolId: 'MQIsdp' as const,
        protocolVersion: 3 as const,
        username: DID,
        password: KEY,
        reconnectPeriod: 0,
      };
      const first = await mqtt.connectAsync(`mqtts://127.0.0.1:${p1}`, opts);
      const firstClosed = new Promise<void>((r) => first.once('close', () => r()));
      const second = await mqtt.connectAsync(`mqtts://127.0.0.1:${p2}`, opts);
      try {
        await firstClosed;
        assert.equal(second.connected, true);
      } finally {
        first.end(true);
        await second.endAsync(true);
      }
    });
  } finally {
    cluster = undefined;
  }
});

test('the "Run a Flukso server" example imported with new ids (the bridge still names the old server id) runs: the bridge uses the only server node on its tab and says so', async () => {
  const flmServer = require('../../nodes/flm-server').default;
  await withDataDir(async (dataDir) => {
    const example = JSON.parse(await readFile(join(repoRoot, 'examples', 'Run a Flukso server.json'), 'utf8')) as Array<
      Record<string, unknown>
    >;
    // What the editor's import does when the ids are taken: new ids; wires and config-node
    // references follow, a flow node's id in a plain property does not.
    const renumbered = example
      .filter((n) => n.type !== 'comment')
      .map((n): Record<string, unknown> => ({ ...n, id: `imported.${String(n.id)}` }));
    for (const n of renumbered) {
      if (n.type === 'flm-server') Object.assign(n, { dataDir, apiPort: '0' });
      if (n.type === 'flm-server-bridge') Object.assign(n, { dataDir, port: '0' });
    }
    assert.equal(renumbered.find((n) => n.type === 'flm-server-bridge')!.server, 'exsrv.server');
    await helper.load([flmServer, serverBridge], onTab(renumbered));
    const br = helper.getNode('imported.exsrv.bridge');
    await portOf('imported.exsrv.bridge');
    const warned = callsOf(br, 'warn').map((a) => String(a[0]));
    assert.ok(
      warned.some((w) => w.includes('exsrv.server') && w.includes('using imported.exsrv.server')),
      JSON.stringify(warned),
    );
    assert.notEqual(lastStatusOf(br).fill, 'red');
  });
});
