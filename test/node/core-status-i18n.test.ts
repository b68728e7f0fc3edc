/**
 * Status lines that core controllers build for the device, sink and broker nodes, said in Dutch,
 * French and German through Node-RED's own i18n and each node's catalog, as status-i18n.test.ts
 * does for flm-sensor. English stays the text the node tests assert.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import { repoRoot } from '../support/paths';
import { nodeRedPath } from '../support/nodered';
import { Status, statusTranslator, rejectsWhy } from '../../nodes/lib/status';
import { pulseStatusView } from '../../core/readings/pulse-status';
import { PipelineBroker } from '../../core/broker/pipeline-broker';
import { haStatusView } from '../../core/sinks/homeassistant/ha-status';
import { OpenHabSink, ItemNames } from '../../core/sinks/openhab';
import { device } from '../support/device';
import { importStatusView } from '../../core/mqtt/import-status';
import { dashboardStatusView } from '../../core/dashboard/hub-status';
import { tmpoStatusView, tmpoErrorView } from '../../core/api/tmpo-status';
import { linkStatusView } from '../../core/source/link-status';
import { p1CountsView, p1WaitingView } from '../../core/source/p1-status';
import { bridgeStatus, httpStatus, joinStatus, type StatusLine } from '../../core/upload/status';
import type { BridgeState } from '../../core/upload/bridge';
import { boardClockPhrase, flm02Summary, flm03Summary } from '../../core/flx/board-status';
import { phrasedView } from '../../core/util/status-view';

interface NodeRedI18n {
  init(settings: { lang?: string }): Promise<void>;
  registerMessageCatalog(namespace: string, dir: string, file: string): Promise<void>;
  _(key: string, params?: object): string;
  i: { changeLanguage(lang: string, cb?: () => void): Promise<unknown> };
}

const util = require(require.resolve('@node-red/util', { paths: [dirname(nodeRedPath)] })) as { i18n: NodeRedI18n };
const i18n = util.i18n;
const NODES = [
  'flm-pulse',
  'flm-broker',
  'flm-homeassistant',
  'flm-openhab',
  'flm-mysql',
  'flm-in',
  'flm-dashboard',
  'flm-tmpo',
  'flm-p1',
  'flm-board',
  'flm-upload',
];
const ns = (type: string) => `node-red-contrib-fluksometer/${type}`;

/** The last status text `show` gives a node of `type` in `lang`, as the runtime would say it. */
async function lineOf(type: string, lang: string, show: (s: Status) => void): Promise<string> {
  await i18n.i.changeLanguage(lang);
  const red = { _: (key: string, params?: object) => i18n._(`${ns(type)}:${key}`, params) } as unknown as NodeAPI;
  const seen: string[] = [];
  const node = { status: (s: { text?: string }) => seen.push(s.text ?? ''), error: () => {} } as unknown as Node;
  show(new Status(node, statusTranslator(red, type)));
  return seen.at(-1) ?? '';
}

/** The line in English, Dutch, French and German. */
async function inFourLanguages(type: string, show: (s: Status) => void): Promise<string[]> {
  const out: string[] = [];
  for (const lang of ['en-US', 'nl', 'fr', 'de']) out.push(await lineOf(type, lang, show));
  return out;
}

before(async () => {
  await i18n.init({ lang: 'en-US' });
  for (const type of NODES)
    await i18n.registerMessageCatalog(ns(type), join(repoRoot, 'nodes', 'locales'), `${type}.json`);
});

test('flm-pulse: pulses, debounced edges and rejects', async () => {
  const stats = { counted: 2, debounced: 1 };
  assert.deepEqual(await inFourLanguages('flm-pulse', (s) => s.show(pulseStatusView('port 7', stats, 3))), [
    'port 7 · 2 pulses · 1 debounced · 3 rejects',
    'port 7 · 2 pulsen · 1 ontdenderd · 3 geweigerd',
    'port 7 · 2 impulsions · 1 anti-rebond · 3 rejets',
    'port 7 · 2 Impulse · 1 entprellt · 3 abgewiesen',
  ]);
  const idle = { counted: 0, debounced: 0 };
  assert.equal(await lineOf('flm-pulse', 'de', (s) => s.show(pulseStatusView('port 7', idle, 0))), 'port 7 · wartet');
});

test('flm-broker: clients and port of a real broker', async () => {
  const b = await PipelineBroker.start(
    {
      host: '127.0.0.1',
      port: 0,
      wsPort: null,
      access: { mode: 'read-only-anonymous' },
      outFilters: [],
      onStatus: () => undefined,
      onRefusal: () => undefined,
      onListenerError: (err) => assert.fail(err),
      onOut: () => undefined,
    },
    () => false,
  );
  assert.ok(b);
  try {
    const [en, nl, fr, de] = await inFourLanguages('flm-broker', (s) => s.show(b.statusView()!));
    assert.match(en!, /^0 clients · :\d+$/);
    assert.match(nl!, /^0 clients · :\d+$/);
    assert.match(de!, /^0 Clients · :\d+$/);
    assert.match(fr!, /^0 clients · :\d+$/);
    assert.equal(
      await lineOf('flm-broker', 'fr', (s) => s.idle(s.say('notPublished', '', { count: 2 }))),
      '2 non publiés',
    );
  } finally {
    await b.close(2000);
  }
});

test('flm-homeassistant: entities under the discovery prefix, and why they are unavailable', async () => {
  assert.deepEqual(
    await inFourLanguages('flm-homeassistant', (s) => s.show(haStatusView(8, 'homeassistant', false, false))),
    [
      'source offline · 8 entities · homeassistant',
      'bron offline · 8 entiteiten · homeassistant',
      'source hors ligne · 8 entités · homeassistant',
      'Quelle offline · 8 Entitäten · homeassistant',
    ],
  );
  const stale = (s: Status) => s.show(haStatusView(8, 'homeassistant', true, true));
  assert.equal(await lineOf('flm-homeassistant', 'nl', stale), 'geen metingen · 8 entiteiten · homeassistant');
});

test('flm-openhab: a Homie device starting, with rejects', async () => {
  const sink = new OpenHabSink({
    device: device(),
    names: new ItemNames(),
    format: 'units',
    homie: { name: '', loadPrevious: () => Promise.resolve({}), save: () => Promise.resolve() },
    publish: () => undefined,
    error: () => undefined,
    log: () => undefined,
    onSaveError: (err) => assert.fail(String(err)),
    onStatus: () => undefined,
  });
  try {
    assert.deepEqual(await inFourLanguages('flm-openhab', (s) => s.show(sink.statusView(2))), [
      'homie starting · 2 rejects',
      'homie start op · 2 geweigerd',
      'homie démarre · 2 rejets',
      'Homie startet · 2 abgewiesen',
    ]);
  } finally {
    await sink.close();
  }
});

test('flm-mysql and flm-in: a rejected message, the cause in its own words', async () => {
  const bad = (s: Status) => s.error(rejectsWhy(s, 3, 'not a reading'));
  assert.deepEqual(await inFourLanguages('flm-mysql', bad), [
    '3 rejects: not a reading',
    '3 geweigerd: not a reading',
    '3 rejets : not a reading',
    '3 abgewiesen: not a reading',
  ]);
  assert.equal(await lineOf('flm-in', 'de', bad), '3 abgewiesen: not a reading');
});

test('flm-in: connected or not, sensors, readings and rejects', async () => {
  const up = (s: Status) => s.show(importStatusView({ connected: true }, 4, 2, 1));
  assert.deepEqual(await inFourLanguages('flm-in', up), [
    'connected · 4 sensors · 2 readings · 1 rejects',
    'verbonden · 4 sensoren · 2 metingen · 1 geweigerd',
    'connecté · 4 capteurs · 2 mesures · 1 rejets',
    'verbunden · 4 Sensoren · 2 Messwerte · 1 abgewiesen',
  ]);
  const down = (s: Status) => s.show(importStatusView({ connected: false, lastTrouble: 'ECONNREFUSED' }, 0, 0, 0));
  assert.equal(await lineOf('flm-in', 'fr', down), 'déconnecté (ECONNREFUSED) · 0 capteurs · 0 mesures');
});

test('flm-dashboard: readings taken and pages open', async () => {
  assert.deepEqual(await inFourLanguages('flm-dashboard', (s) => s.show(dashboardStatusView(12, 2))), [
    '12 readings, 2 pages open',
    '12 metingen, 2 pagina’s open',
    '12 mesures, 2 pages ouvertes',
    '12 Messwerte, 2 Seiten offen',
  ]);
  assert.equal(
    await lineOf('flm-dashboard', 'nl', (s) => s.show(dashboardStatusView(0, 1))),
    '0 metingen, 1 pagina open',
  );
});

test('flm-tmpo: blocks written and open, its API port, readings not stored, rejects', async () => {
  const counts = { written: 5, open: 2, apiPort: 8080, notStored: 3, rejects: 1 };
  assert.deepEqual(await inFourLanguages('flm-tmpo', (s) => s.show(tmpoStatusView(counts))), [
    '5 blocks · 2 open · :8080 · 3 not stored · 1 rejects',
    '5 blokken · 2 open · :8080 · 3 niet bewaard · 1 geweigerd',
    '5 blocs · 2 ouverts · :8080 · 3 non stockées · 1 rejets',
    '5 Blöcke · 2 offen · :8080 · 3 nicht gespeichert · 1 abgewiesen',
  ]);
  const bad = (s: Status) => s.show(tmpoErrorView(2, new Error('not a reading')));
  assert.equal(await lineOf('flm-tmpo', 'de', bad), '2 abgewiesen: not a reading');
});

test('flm-p1 and flm-board: the link connecting, silent, failing', async () => {
  const silent = (s: Status) => s.show(linkStatusView({ kind: 'silent', seconds: 30, why: 'ENOENT' }));
  assert.deepEqual(await inFourLanguages('flm-p1', silent), [
    'no data for 30 s · ENOENT',
    'geen gegevens sinds 30 s · ENOENT',
    'aucune donnée depuis 30 s · ENOENT',
    'keine Daten seit 30 s · ENOENT',
  ]);
  const failing = (s: Status) => s.show(linkStatusView({ kind: 'failing', why: 'ECONNREFUSED', retrySeconds: 5 }));
  assert.deepEqual(await inFourLanguages('flm-board', failing), [
    'ECONNREFUSED · retry in 5 s',
    'ECONNREFUSED · nieuwe poging over 5 s',
    'ECONNREFUSED · nouvel essai dans 5 s',
    'ECONNREFUSED · neuer Versuch in 5 s',
  ]);
  const waiting = (s: Status) => s.show(linkStatusView({ kind: 'waiting', connected: true }));
  assert.equal(await lineOf('flm-p1', 'nl', waiting), 'verbonden · wachten');
});

test('flm-p1: telegrams counted by outcome', async () => {
  const counts = { good: 9, badCrc: 1, unparsable: 2, decryptFailed: 0, backlogDropped: 3 };
  assert.deepEqual(await inFourLanguages('flm-p1', (s) => s.show(p1CountsView(counts, true))), [
    '9 ok · 1 crc · 2 bad · 3 skipped',
    '9 ok · 1 crc · 2 onleesbaar · 3 overgeslagen',
    '9 ok · 1 crc · 2 illisibles · 3 ignorés',
    '9 ok · 1 CRC · 2 unlesbar · 3 übersprungen',
  ]);
  assert.equal(await lineOf('flm-p1', 'fr', (s) => s.show(p1WaitingView())), 'en attente de télégrammes');
});

test('flm-upload: the queue, the last success, counters passed over, the bridge', async () => {
  const hhmm = () => '13:05';
  const http = { depth: 12, authFailed: false, retrying: false, fractional: 1, notUploaded: { unknownSensor: 2 } };
  const bridge: BridgeState = {
    phase: 'down',
    url: 'mqtts://x:8883',
    refused: false,
    held: 3,
    dropped: 0,
    leftToSync: 0,
    sent: 0,
    received: 0,
    connects: 1,
    lastError: { message: 'connect ECONNREFUSED', failure: 'network', at: 1 },
  };
  const shown = (line: StatusLine) => (s: Status) => s[line.level](s.line(line.phrases));
  const both = joinStatus([httpStatus({ ...http, lastSuccess: 1 }, hhmm), bridgeStatus(bridge, hhmm, false)]);
  assert.deepEqual(await inFourLanguages('flm-upload', shown(both)), [
    '12 queued · ok 13:05 · 1 fractional · 2 unknown sensor · bridge down: connect ECONNREFUSED · 3 held',
    '12 in wachtrij · ok 13:05 · 1 niet geheel · 2 onbekende sensor · bridge verbroken: connect ECONNREFUSED · 3 vastgehouden',
    '12 en file · ok 13:05 · 1 non entiers · 2 capteur inconnu · pont coupé : connect ECONNREFUSED · 3 retenus',
    '12 in Warteschlange · ok 13:05 · 1 nicht ganzzahlig · 2 unbekannter Sensor · Bridge getrennt: connect ECONNREFUSED · 3 gehalten',
  ]);
  const refused = httpStatus(
    { ...http, authFailed: true, fractional: 0, offer: { kind: 'upgrade', version: 251 } },
    hhmm,
  );
  assert.equal(
    await lineOf('flm-upload', 'de', shown(refused)),
    '12 in Warteschlange · Authentifizierung fehlgeschlagen · 2 unbekannter Sensor · Update 251 angeboten',
  );
  const up = bridgeStatus({ ...bridge, phase: 'connected', held: 0, lastSent: 1 }, hhmm, true);
  assert.equal(await lineOf('flm-upload', 'fr', shown(up)), 'pont actif · ok 13:05');
});

test('flm-board: frames or replies, bad ones, batches, the board clock', async () => {
  const flm03 = (s: Status) =>
    s.show(
      phrasedView('ok', [...flm03Summary({ frames: 120, bad: 2, batches: 100 }, 3), boardClockPhrase('step-board')!]),
    );
  assert.deepEqual(await inFourLanguages('flm-board', flm03), [
    '120 frames · 2 bad · 3 implausible · 100 batches · clock set',
    '120 frames · 2 fout · 3 onwaarschijnlijk · 100 batches · klok gezet',
    '120 trames · 2 erronées · 3 invraisemblables · 100 lots · horloge réglée',
    '120 Frames · 2 fehlerhaft · 3 unplausibel · 100 Batches · Uhr gestellt',
  ]);
  const flm02 = (s: Status) => s.show(phrasedView('ok', flm02Summary({ frames: 9, bad: 3, timeouts: 2, batches: 8 })));
  assert.deepEqual(await inFourLanguages('flm-board', flm02), [
    '9 replies · 3 bad (2 unanswered) · 8 batches',
    '9 antwoorden · 3 fout (2 onbeantwoord) · 8 batches',
    '9 réponses · 3 erronées (2 sans réponse) · 8 lots',
    '9 Antworten · 3 fehlerhaft (2 unbeantwortet) · 8 Batches',
  ]);
});
