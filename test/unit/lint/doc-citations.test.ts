/**
 * Code comments cite this repository's docs as `docs/<file>.md` or `docs/<file>.md#<heading-anchor>`
 * (docs/comment-map.md). A cited page that does not exist, or a heading that was renamed, sends
 * the next reader nowhere: every such citation in core/, nodes/, scripts/, test/ and bench/ must
 * name a file under docs/ and, with an anchor, one of that file's headings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths';
import { brokenCitations, brokenLinks, headingAnchors } from './doc-citations';

const SCANNED = ['core', 'nodes', 'scripts', 'test', 'bench'];
const SELF = join('test', 'unit', 'lint', 'doc-citations.test.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(ts|mjs|js|html)$/.test(name) ? [p] : [];
  });
}

function markdownUnder(dir: string): string[] {
  return readdirSync(join(repoRoot, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(join(repoRoot, rel)).isDirectory()) return markdownUnder(rel);
    return name.endsWith('.md') ? [rel] : [];
  });
}

const docs = {
  exists: (path: string) => existsSync(join(repoRoot, path)),
  read: (path: string) => readFileSync(join(repoRoot, path), 'utf8'),
};

test('every docs/… citation in the code names an existing file and one of its headings', () => {
  // this file's own examples of wrong citations are left out
  const files = SCANNED.flatMap((d) => sourceFiles(join(repoRoot, d))).filter((f) => !f.endsWith(SELF));
  assert.ok(files.length > 200, `${files.length} files`);
  const broken = files.flatMap((f) =>
    brokenCitations(readFileSync(f, 'utf8'), docs).map((b) => `${f.slice(repoRoot.length + 1)}:${b}`),
  );
  assert.deepEqual(broken, [], 'fix the citation, or the heading it names (docs/README.md: headings are stable)');
});

test('every relative link in README.md, CONTRIBUTING.md and docs/ leads to a file and, with an anchor, a heading', () => {
  const pages = ['README.md', 'CONTRIBUTING.md', ...markdownUnder('docs')];
  assert.ok(pages.length >= 10, pages.join(' '));
  const broken = pages.flatMap((p) => brokenLinks(p, docs.read(p), docs).map((b) => `${p}:${b}`));
  assert.deepEqual(broken, []);
});

test('a link to a missing file or heading is reported, relative to the page; outside links are not checked', () => {
  const page = [
    '[tmpo](protocols/tmpo.md#levels), [same page](#top), [up](../README.md), [web](https://example.org/x#y)',
    '[gone](protocols/gone.md) and [renamed](protocols/tmpo.md#old-name), `[code](span.md)`',
    '```',
    '[in code](nowhere.md)',
    '```',
    '# Top',
  ].join('\n');
  const reader = { ...docs, read: (p: string) => (p === 'docs/page.md' ? page : docs.read(p)) };
  assert.deepEqual(
    brokenLinks('docs/page.md', page, { ...reader, exists: (p) => p === 'docs/page.md' || docs.exists(p) }),
    ['2: protocols/gone.md: no such file', '2: protocols/tmpo.md#old-name: no such heading'],
  );
});

test('a citation of a missing page, or of a heading the page does not have, is reported', () => {
  const text = [
    '// see docs/protocols/tmpo.md#levels and docs/architecture.md#dependency-order',
    '// docs/nowhere.md explains it',
    ' * (docs/protocols/tmpo.md#no-such-heading): …',
    "const s = 'docs/protocols/tmpo.md';",
  ].join('\n');
  assert.deepEqual(brokenCitations(text, docs), [
    '2: docs/nowhere.md: no such file',
    '3: docs/protocols/tmpo.md#no-such-heading: no such heading',
  ]);
});

test('anchors are made as GitHub makes them: lower case, punctuation dropped, spaces to dashes, repeats numbered', () => {
  const md = [
    '# Top',
    '## Shared database',
    '### `GET /health` and HAProxy',
    '## Differences from the FLM',
    '## Differences from the FLM',
    '```sh',
    '# a shell comment, not a heading',
    '```',
    '## QoS 1: acknowledged means stored',
  ].join('\n');
  assert.deepEqual(headingAnchors(md), [
    'top',
    'shared-database',
    'get-health-and-haproxy',
    'differences-from-the-flm',
    'differences-from-the-flm-1',
    'qos-1-acknowledged-means-stored',
  ]);
});
