/**
 * The editor speaks English, Dutch, French and German through Node-RED's i18n: for every node file
 * nodes/<node>.html a message catalog nodes/locales/<lang>/<node>.json and a help text
 * nodes/locales/<lang>/<node>.html. A key that one language has and another lacks shows up as a
 * raw key or as English in the middle of a translated dialog; these checks keep them in step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths';

const LANGS = ['en-US', 'nl', 'fr', 'de'];
const nodesDir = join(repoRoot, 'nodes');
const localesDir = join(nodesDir, 'locales');
const nodeFiles = readdirSync(nodesDir)
  .filter((f) => /^flm-.*\.html$/.test(f))
  .map((f) => f.replace(/\.html$/, ''));

/** Every key of a catalog as a dotted path, with its text. */
function flatten(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof value === 'string') out.set(prefix, value);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value))
      for (const [p, t] of flatten(v, prefix ? `${prefix}.${k}` : k)) out.set(p, t);
  return out;
}

function catalog(lang: string, node: string): Map<string, string> {
  return flatten(JSON.parse(readFileSync(join(localesDir, lang, `${node}.json`), 'utf8')));
}

/** The `__name__` places of a text, sorted. */
const places = (text: string): string[] => [...text.matchAll(/__(\w+)__/g)].map((m) => m[1]!).sort();

test('every node file has a catalog and a help text in every language', () => {
  assert.ok(nodeFiles.length >= 13, `${nodeFiles.length} node files`);
  for (const lang of LANGS)
    for (const node of nodeFiles)
      for (const ext of ['json', 'html'])
        assert.ok(existsSync(join(localesDir, lang, `${node}.${ext}`)), `nodes/locales/${lang}/${node}.${ext} missing`);
});

test('every key of en-US is in nl, fr and de, and they have no key en-US lacks', () => {
  for (const node of nodeFiles) {
    const en = catalog('en-US', node);
    for (const lang of LANGS.slice(1)) {
      const other = catalog(lang, node);
      const missing = [...en.keys()].filter((k) => !other.has(k));
      const extra = [...other.keys()].filter((k) => !en.has(k));
      assert.deepEqual(missing, [], `${lang}/${node}.json lacks keys of en-US`);
      assert.deepEqual(extra, [], `${lang}/${node}.json has keys en-US lacks`);
      for (const [k, text] of en) {
        assert.deepEqual(places(other.get(k)!), places(text), `${lang}/${node}.json ${k}: other __places__ than en-US`);
        assert.ok(other.get(k)!.trim(), `${lang}/${node}.json ${k} is empty`);
      }
    }
  }
});

test('every key the editor files use is in the en-US catalog of their node', () => {
  for (const node of nodeFiles) {
    const html = readFileSync(join(nodesDir, `${node}.html`), 'utf8');
    const en = catalog('en-US', node);
    const used = new Set<string>();
    for (const m of html.matchAll(/data-i18n="([^"]+)"/g))
      for (const part of m[1]!.split(';')) used.add(part.replace(/^\[\w+\]/, ''));
    // this._('key'), node._('key'), t('key') inside the node's definition (t prefixes the node)
    for (const m of html.matchAll(/\b_\('([\w.-]+)'/g)) used.add(m[1]!);
    for (const m of html.matchAll(/\bt\('([\w.]+)'/g)) used.add(`${node}.${m[1]!}`);
    assert.ok(used.size > 0, `${node}.html uses no catalog key`);
    const unknown = [...used].filter((k) => !k.endsWith('.') && !en.has(k));
    assert.deepEqual(unknown, [], `${node}.html uses keys that locales/en-US/${node}.json lacks`);
    assert.ok(en.has(`${node}.paletteLabel`), `${node}: no paletteLabel in the catalog`);
    assert.match(
      html,
      /paletteLabel:\s*function\s*\(\)\s*\{\s*return this\._\(/,
      `${node}: paletteLabel not through i18n`,
    );
  }
});

/** Core files whose status phrases a node shows, by node. */
const CORE_STATUS_SOURCES: Array<[string, string]> = [
  ['flm-pulse', 'core/readings/pulse-status.ts'],
  ['flm-broker', 'core/broker/pipeline-broker.ts'],
  ['flm-homeassistant', 'core/sinks/homeassistant/ha-status.ts'],
  ['flm-openhab', 'core/sinks/openhab/sink.ts'],
  ['flm-mysql', 'core/sinks/mysql/sink.ts'],
  ['flm-in', 'core/mqtt/import-status.ts'],
  ['flm-dashboard', 'core/dashboard/hub-status.ts'],
  ['flm-tmpo', 'core/api/tmpo-status.ts'],
  ['flm-p1', 'core/source/link-status.ts'],
  ['flm-p1', 'core/source/p1-status.ts'],
  ['flm-board', 'core/source/link-status.ts'],
  ['flm-upload', 'core/upload/status.ts'],
  ['flm-board', 'core/flx/board-status.ts'],
  ['flm-server', 'core/server/run.ts'],
  ['flm-server-bridge', 'core/server/bridge/service.ts'],
];

test('every status key the runtime asks for is in the catalog of its node', () => {
  const sources: Array<[string, string]> = nodeFiles.map((n) => [n, readFileSync(join(nodesDir, `${n}.ts`), 'utf8')]);
  // core controllers offer phrases a node translates: the ones flm-sensor shows
  sources.push(['flm-sensor', readFileSync(join(repoRoot, 'core', 'readings', 'sensor-engine.ts'), 'utf8')]);
  // and the ones the other nodes show
  for (const [node, file] of CORE_STATUS_SOURCES) sources.push([node, readFileSync(join(repoRoot, file), 'utf8')]);
  for (const [node, src] of sources) {
    const en = catalog('en-US', node);
    const keys = [
      ...[...src.matchAll(/\bsay\('(\w+)'/g)].map((m) => m[1]!),
      // a phrase on one line or, when it is long, spread over several
      ...[...src.matchAll(/\{\s*key: '(\w+)',\s*en:/g)].map((m) => m[1]!),
      ...(/standbyPhrase\(/.test(src) ? ['standby'] : []),
      ...(/rejectsWhy\(/.test(src) ? ['rejectsWhy'] : []),
    ].filter((k) => k !== 'why');
    for (const k of keys)
      assert.ok(en.has(`${node}.status.${k}`), `${node}: status key "${k}" not in locales/en-US/${node}.json`);
  }
});

test('every phrase of a core status source is written so the check above reads its key', () => {
  // A key this lint cannot read (computed, or after `en`) would go unchecked: a missing catalog
  // entry would show English in a translated editor and nothing would fail.
  for (const [node, file] of CORE_STATUS_SOURCES) {
    const src = readFileSync(join(repoRoot, file), 'utf8');
    // Phrase objects: those that open with a key, and those with a key after their `en` (a TLS
    // option `{ cert, key }` is neither).
    const keys = [...src.matchAll(/\{\s*key:/g)].length + [...src.matchAll(/\ben:[^{}]*\bkey:/g)].length;
    const read = [...src.matchAll(/\{\s*key: '(\w+)',\s*en:/g)].length;
    assert.ok(keys > 0 || /rejectsWhy\(|standbyPhrase\(/.test(src), `${file} (${node}) offers no phrase`);
    assert.equal(read, keys, `${file}: ${keys - read} phrases not as { key: '<literal>', en: ... }`);
  }
});

test('palette labels are plain words: no "flm " prefix, no word a palette entry would break', () => {
  for (const lang of LANGS)
    for (const node of nodeFiles) {
      const label = catalog(lang, node).get(`${node}.paletteLabel`)!;
      assert.ok(!/^flm[ -]/.test(label), `${lang} ${node}: "${label}" reads as the type name`);
      // The palette shows "a-b" as "a - b": words go apart with spaces.
      assert.ok(!label.includes('-'), `${lang} ${node}: "${label}" has a hyphen`);
      // A palette entry is 82 px wide and breaks a longer word in the middle: about 13 characters.
      for (const word of label.split(/[ -]/)) assert.ok(word.length <= 13, `${lang} ${node}: "${word}" is too long`);
    }
});

test('help texts of every language describe the same node types', () => {
  for (const node of nodeFiles) {
    const typesOf = (lang: string) =>
      [...readFileSync(join(localesDir, lang, `${node}.html`), 'utf8').matchAll(/data-help-name="([^"]+)"/g)]
        .map((m) => m[1]!)
        .sort();
    const en = typesOf('en-US');
    assert.ok(en.length > 0, `${node}: en-US help names no node type`);
    for (const lang of LANGS.slice(1)) assert.deepEqual(typesOf(lang), en, `${lang}/${node}.html`);
  }
});
