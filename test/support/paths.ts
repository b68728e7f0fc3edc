import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The checkout's root: the nearest folder above this file whose package.json is ours. */
function findRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === 'node-red-contrib-fluksometer') return dir;
  }
  return process.cwd();
}

export const repoRoot = findRoot();
/** ../shared/fixtures beside the checkout (CI lays shared/ there too). */
const fixturesDir = resolve(repoRoot, '..', 'shared', 'fixtures');
export const p1FixturesDir = join(fixturesDir, 'p1');
