/**
 * The Flukso server's and its bridge endpoint's status lines in the runtime's language: a real
 * server and bridge endpoint on loopback (port 0), their status phrases said through Node-RED's own
 * i18n (@node-red/util) with the package's catalogs, as flm-server and flm-server-bridge show them.
 * The node test helper stubs RED._ out, so this uses the real one (as status-i18n.test.ts does).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import { repoRoot } from '../support/paths';
import { nodeRedPath } from '../support/nodered';
import { tempDir } from '../support/temp-dir';
import { Status, statusTranslator } from '../../nodes/lib/status';
import { runServer, type RunningServer } from '../../core/server/run';
import { startBridgeService, bridgeStatusLine, type BridgeService } from '../../core/server/bridge/service';

interface NodeRedI18n {
  init(settings: { lang?: string }): Promise<void>;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, params?: object): string;
  i: { changeLanguage(lang: string, cb?: () => void): Promise<unknown> };
}

const util = require(require.resolve('@node-red/util', { paths: [dirname(nodeRedPath)] })) as { i18n: NodeRedI18n };
const i18n = util.i18n;

/** RED as the node set `type` gets it: `_` prefixes the set's namespace. */
const redFor = (type: string) =>
  ({
    _: (key: string, params?: object) => i18n._(`node-red-contrib-fluksometer/${type}:${key}`, params),
  }) as unknown as NodeAPI;

async function statusOf(lang: string, type: string, show: (s: Status) => void): Promise<string> {
  await i18n.i.changeLanguage(lang);
  const seen: string[] = [];
  const node = { status: (s: { text?: string }) => seen.push(s.text ?? '') } as unknown as Node;
  show(new Status(node, statusTranslator(redFor(type), type)));
  return seen.at(-1) ?? '';
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: RunningServer;
let bridge: BridgeService;

before(async () => {
  await i18n.init({ lang: 'en-US' });
  for (const type of ['flm-server', 'flm-server-bridge'])
    await i18n.registerMessageCatalog(
      `node-red-contrib-fluksometer/${type}`,
      join(repoRoot, 'nodes', 'locales'),
      `${type}.json`,
    );
  dir = await tempDir();
  server = await runServer({ dataDir: dir.path, host: '127.0.0.1', port: 0 });
  bridge = await startBridgeService({
    backend: server.server.bridgeBackend,
    host: '127.0.0.1',
    port: 0,
    dataDir: dir.path,
  });
});

after(async () => {
  await bridge?.endpoint.close(2000);
  await server?.close();
  await dir?.remove();
});

test("flm-server's status line in English, Dutch, French and German", async () => {
  const line = (s: Status) => s.show(server.status());
  assert.equal(await statusOf('en-US', 'flm-server', line), '0 readings · 0 posts · 0 blocks · 0 refused');
  assert.equal(await statusOf('nl', 'flm-server', line), '0 metingen · 0 uploads · 0 blokken · 0 geweigerd');
  assert.equal(await statusOf('fr', 'flm-server', line), '0 mesures · 0 envois · 0 blocs · 0 refusées');
  assert.equal(await statusOf('de', 'flm-server', line), '0 Messwerte · 0 Uploads · 0 Blöcke · 0 abgewiesen');
  assert.equal(await statusOf('de', 'flm-server', (s) => s.idle(s.say('stopped', 'stopped'))), 'gestoppt');
});

test("flm-server-bridge's status line in English, Dutch, French and German", async () => {
  const line = (s: Status) => s.show(bridgeStatusLine(bridge.endpoint));
  assert.equal(await statusOf('en-US', 'flm-server-bridge', line), '0 FLMs · 0 blocks');
  assert.equal(await statusOf('nl', 'flm-server-bridge', line), "0 FLM's · 0 blokken");
  assert.equal(await statusOf('fr', 'flm-server-bridge', line), '0 FLM · 0 blocs');
  assert.equal(await statusOf('de', 'flm-server-bridge', line), '0 FLMs · 0 Blöcke');
  assert.equal(
    await statusOf('nl', 'flm-server-bridge', (s) => s.idle(s.say('starting', 'starting'))),
    'bezig met starten',
  );
});
