/**
 * The house rules of docs/architecture.md that no compiler or lint rule checks by itself: a node
 * file is wiring only (settings, status, close: under 120 lines, logic lives in core/), and core/
 * imports nothing from Node-RED (a runtime hands nodes `RED`; core/ runs and is tested without it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/paths';

const MAX_NODE_LINES = 120;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

test(`every node file is wiring only: under ${MAX_NODE_LINES} lines`, () => {
  const nodes = readdirSync(join(repoRoot, 'nodes')).filter((n) => /^flm-.*\.ts$/.test(n));
  assert.ok(nodes.length >= 13, `${nodes.length} node files`);
  const long = nodes
    .map((n) => [n, readFileSync(join(repoRoot, 'nodes', n), 'utf8').split('\n').length] as const)
    .filter(([, lines]) => lines > MAX_NODE_LINES);
  assert.deepEqual(long, [], 'move the logic into a core/ controller');
});

test('core/ imports nothing from Node-RED', () => {
  const files = tsFiles(join(repoRoot, 'core'));
  assert.ok(files.length > 100);
  const offending = files.filter((f) =>
    /from '(node-red|@node-red\/[^']+)'|require\('node-red'\)/.test(readFileSync(f, 'utf8')),
  );
  assert.deepEqual(offending, []);
});
