/**
 * Status lines in the runtime's language: Node-RED's own i18n (@node-red/util, as the runtime sets
 * it up from its `lang` setting) with the package's catalogs, through statusTranslator and Status,
 * as a node shows them. The node test helper stubs RED._ out, so this uses the real one.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import { repoRoot } from '../support/paths';
import { nodeRedPath } from '../support/nodered';
import { Status, statusTranslator } from '../../nodes/lib/status';
import { phrasedView, formatPower, type Phrase } from '../../core/util/status-view';

interface NodeRedI18n {
  init(settings: { lang?: string }): Promise<void>;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, params?: object): string;
  i: { changeLanguage(lang: string, cb?: () => void): Promise<unknown> };
}

const util = require(require.resolve('@node-red/util', { paths: [dirname(nodeRedPath)] })) as { i18n: NodeRedI18n };
const i18n = util.i18n;
const NS = 'node-red-contrib-fluksometer/flm-sensor';

/** RED as a node module gets it: `_` prefixes the node set's namespace. */
const red = { _: (key: string, params?: object) => i18n._(`${NS}:${key}`, params) } as unknown as NodeAPI;

function statusOf(lang: string, show: (s: Status) => void): Promise<string> {
  return i18n.i.changeLanguage(lang).then(() => {
    const seen: string[] = [];
    const node = { status: (s: { text?: string }) => seen.push(s.text ?? '') } as unknown as Node;
    show(new Status(node, statusTranslator(red, 'flm-sensor')));
    return seen.at(-1) ?? '';
  });
}

// The line flm-sensor's engine shows after a batch: power, sensors, readings sent, rejects.
const phrases: Phrase[] = [
  { key: 'power', en: `main ${formatPower(1234)}`, params: { name: 'main', power: formatPower(1234) } },
  { key: 'sensors', en: '4 sensors', params: { count: 4 } },
  { key: 'out', en: '17 out', params: { count: 17 } },
  { key: 'rejects', en: '2 rejects', params: { count: 2 } },
];

before(async () => {
  await i18n.init({ lang: 'en-US' });
  await i18n.registerMessageCatalog(NS, join(repoRoot, 'nodes', 'locales'), 'flm-sensor.json');
});

test('a status line is said in the runtime language, English where no catalog has it', async () => {
  const line = (s: Status) => s.show(phrasedView('ok', phrases));
  assert.equal(await statusOf('en-US', line), 'main 1.23 kW · 4 sensors · 17 out · 2 rejects');
  assert.equal(await statusOf('nl', line), 'main 1.23 kW · 4 sensoren · 17 verstuurd · 2 geweigerd');
  assert.equal(await statusOf('fr', line), 'main 1.23 kW · 4 capteurs · 17 envoyées · 2 rejets');
  assert.equal(await statusOf('de', line), 'main 1.23 kW · 4 Sensoren · 17 gesendet · 2 abgewiesen');
  // Japanese has no catalog of ours: English, not a key
  assert.equal(await statusOf('ja', line), 'main 1.23 kW · 4 sensors · 17 out · 2 rejects');
});

test('texts a node builds itself, and a phrase no catalog knows', async () => {
  assert.equal(await statusOf('de', (s) => s.idle(s.say('starting', 'starting'))), 'startet');
  assert.equal(await statusOf('fr', (s) => s.error(s.say('noDevice', 'no device'))), 'aucun appareil');
  const why: Phrase = { key: 'why', en: 'P1 delivered jumped' };
  assert.equal(await statusOf('nl', (s) => s.show(phrasedView('warn', [why]))), 'P1 delivered jumped');
});
