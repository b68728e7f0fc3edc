// `npm test`: make sure the system tools the tests drive are present (installing missing Debian
// packages when we are root), then run every compiled test file with node's test runner, and then
// the node tests once more under Node-RED 5 on Node 22 (scripts/test-nr5.mjs), what users of
// Node-RED 5 run. `node scripts/test.mjs unit node` runs only those suites, on this Node-RED.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages } from './system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = process.argv.slice(2).length === 0;
const suites = all ? ['unit', 'node', 'integration', 'e2e'] : process.argv.slice(2);

if (suites.some((s) => s !== 'unit')) ensureSystemPackages();

function collect(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return collect(p);
    return name.endsWith('.test.js') ? [p] : [];
  });
}

const files = suites.flatMap((s) => collect(join(root, 'dist', 'test', s))).sort();
if (files.length === 0) {
  console.error(`no test files found for suites: ${suites.join(', ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], {
  stdio: 'inherit',
  cwd: root,
});
if (!all) process.exit(r.status ?? 1);
// Run under Node-RED 5 even when a suite above failed, so that one run shows every failure.
const nr5 = spawnSync(process.execPath, [join(root, 'scripts', 'test-nr5.mjs')], { stdio: 'inherit', cwd: root });
process.exit(r.status === 0 && nr5.status === 0 ? 0 : r.status || nr5.status || 1);
