/**
 * flm-upload and flm-board running in a flow while Node-RED's runtime language is Dutch: their
 * status lines come out in Dutch. The node test helper hands nodes an `RED._` that returns the key,
 * so here each node module gets the runtime's own i18n (@node-red/util, initialised with
 * `lang: 'nl'` as the runtime does from its settings) with the package's catalogs, the way
 * Node-RED gives a node set its namespace. The other status tests say lines through Status alone;
 * this one shows the nodes wire their status through it.
 */
import { test, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import type { NodeAPI } from 'node-red';
import { repoRoot } from '../support/paths';
import { helper, flmNodes, nodeRedPath, onTab, waitFor, tempDir, withDataDir } from '../support/nodered';
import { HOUSEHOLD_SENSORS, DEVICE_ID, DEVICE_KEY, sid } from '../support/device';
import { FluksoTestServer } from '../support/flukso-server';
import { socatPair } from '../support/pty';
import { Flm02Emulator } from '../../core/flx/flm02-emulator';
import { EmulatorPort } from '../../core/flx/emulator-port';
import { lastStatusOf } from '../support/node-calls';

interface NodeRedI18n {
  init(settings: { lang?: string }): Promise<void>;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, params?: object): string;
}

const util = require(require.resolve('@node-red/util', { paths: [dirname(nodeRedPath)] })) as { i18n: NodeRedI18n };
const i18n = util.i18n;
const ns = (type: string) => `node-red-contrib-fluksometer/${type}`;

/**
 * Every node file of the package is its own node set, so its catalog keys start with its type
 * ("flm-upload.status.queued"): the namespace follows from the key, as the runtime's per-set `_`.
 */
const runtimeTranslate = (key: string, params?: object) => i18n._(`${ns(key.split('.')[0]!)}:${key}`, params);
const nodesInRuntimeLanguage = flmNodes.map((register: (RED: NodeAPI) => unknown) => (RED: NodeAPI) => {
  (RED as unknown as { _: typeof runtimeTranslate })._ = runtimeTranslate;
  return register(RED);
});

before(async () => {
  await i18n.init({ lang: 'nl' });
  for (const type of ['flm-device', 'flm-upload', 'flm-board'])
    await i18n.registerMessageCatalog(ns(type), join(repoRoot, 'nodes', 'locales'), `${type}.json`);
});

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  await helper.unload();
  for (const c of cleanups.splice(0).reverse()) await c();
});

test('flm-upload in a Dutch runtime: queued, the last upload and a fractional counter in Dutch', async () => {
  const server = await FluksoTestServer.start({
    devices: [{ id: DEVICE_ID, key: DEVICE_KEY, sensors: HOUSEHOLD_SENSORS.map((s) => s.id!) }],
  });
  cleanups.push(() => server.close());
  await withDataDir(async (dir) => {
    await helper.load(
      nodesInRuntimeLanguage,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir, sensors: HOUSEHOLD_SENSORS },
        { id: 'up', type: 'flm-upload', device: 'dev', serverUrl: server.url, interval: '1', heartbeat: 'off' },
      ]),
      { dev: { deviceKey: DEVICE_KEY } },
    );
    const up = helper.getNode('up');
    const now = Math.floor(Date.now() / 1000);
    up.receive({ topic: `/sensor/${sid(1)}/counter`, payload: [now - 10, 1000, 'Wh'] });
    up.receive({ topic: `/sensor/${sid(1)}/counter`, payload: [now - 5, 1000.5, 'Wh'] });
    await waitFor('the counter on the server', () => server.count(sid(1)) === 1, 15_000);
    const shown = await waitFor('a green status in Dutch', () => {
      const s = lastStatusOf(up);
      return s.fill === 'green' && /^0 in wachtrij · ok \d\d:\d\d · 1 niet geheel$/.test(s.text) ? s : undefined;
    });
    assert.equal(shown.shape, 'dot');
    await helper.unload();
  });
});

test(
  'flm-board in a Dutch runtime: an FLM02 board polled, replies and batches in Dutch',
  { timeout: 60_000 },
  async () => {
    const dir = await tempDir('flm-board-nl-');
    cleanups.push(() => dir.remove());
    const pty = await socatPair(join(dir.path, 'A'), join(dir.path, 'B'));
    cleanups.push(pty.stop);
    const sensors = [{ n: 1, id: sid(1), name: 'main', type: 'electricity', class: 'analog', port: [1], current: 100 }];
    await helper.load(
      nodesInRuntimeLanguage,
      onTab([
        { id: 'dev', type: 'flm-device', deviceId: DEVICE_ID, dataDir: dir.path, sensors },
        {
          id: 'board',
          type: 'flm-board',
          device: 'dev',
          port: pty.a,
          protocol: 'flm02',
          baud: '115200',
          watchdog: '5',
        },
      ]),
      { dev: { deviceKey: DEVICE_KEY } },
    );
    const board = helper.getNode('board');
    const emulator = new Flm02Emulator({ clamps: [{ port: 1, watts: 3600 }] });
    const port = new EmulatorPort(emulator, { path: pty.b, speed: 10, baudRate: 115200, stopWhenFinished: false });
    await port.start();
    cleanups.push(() => port.stop());
    // the link's own phrases first ("verbinden"), then the board's counts
    await waitFor(
      'the counts in Dutch',
      () => {
        const s = lastStatusOf(board);
        return (
          s.fill === 'green' &&
          /^[1-9]\d* antwoorden( · \d+ fout( \(\d+ onbeantwoord\))?)? · [1-9]\d* batches$/.test(s.text)
        );
      },
      15_000,
    );
  },
);
