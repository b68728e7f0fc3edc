import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { childNpmEnv, run } from './process';

export interface PackageJson {
  name: string;
  version: string;
  files?: string[];
  'node-red'?: { version?: string; nodes?: Record<string, string> };
}

export function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/**
 * `npm pack` the checkout at `root` into `dest` and return the tarball's path. The package ships
 * compiled files only, so `dist/` must be built first (`npm test` runs `npm run build` before the
 * suites); without it the test says so instead of packing a package that cannot load.
 */
export async function packRepo(root: string, dest: string): Promise<string> {
  const pkg = readPackageJson(root);
  const missing = Object.values(pkg['node-red']?.nodes ?? {}).filter((f) => !existsSync(join(root, f)));
  if (missing.length) {
    throw new Error(`cannot pack ${root}: ${missing.join(', ')} missing; run \`npm run build\` first (npm test does)`);
  }
  mkdirSync(dest, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], {
    cwd: root,
    timeoutMs: 60_000,
    env: childNpmEnv(),
  });
  // npm may print warnings before the JSON; the JSON array starts at the first '[' on its own line.
  const json = stdout.slice(stdout.search(/^\[/m));
  const [info] = JSON.parse(json) as [{ filename: string; files: Array<{ path: string }> }];
  const tgz = join(dest, info.filename);
  if (!existsSync(tgz)) throw new Error(`npm pack reported ${info.filename} but ${tgz} does not exist`);
  return tgz;
}

/** A fresh Node-RED user dir with the tarball installed as a user would (`npm install <tgz>`). */
export async function installIntoUserDir(userDir: string, tgz: string): Promise<void> {
  mkdirSync(userDir, { recursive: true });
  writeFileSync(
    join(userDir, 'package.json'),
    JSON.stringify({ name: 'node-red-project', private: true }, null, 2) + '\n',
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', userDir, tgz], {
    cwd: userDir,
    timeoutMs: 120_000,
    env: childNpmEnv(),
  });
}
