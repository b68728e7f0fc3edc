/**
 * `npm pack` from a fresh clone builds first (the `prepack` script) and ships what the palette
 * needs. The clone is a local `git clone` of this checkout's HEAD; its node_modules is a symlink to
 * the checkout's (the build needs only the dev dependencies already installed here, and an
 * `npm install` would cost minutes). `--dry-run --json` lists the files without writing a tarball;
 * the prepack build still runs, so dist/ must come from it: a clone has none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/paths';
import { withTempDir } from '../support/temp-dir';

const run = promisify(execFile);

/** Every file under `dir`, as paths relative to `base`. */
function filesUnder(dir: string, base: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

test('npm pack in a fresh clone builds, and ships every node with its html, icon and help, resources and examples', async () => {
  await withTempDir(async (dir) => {
    const clone = join(dir, 'clone');
    await run('git', ['clone', '--quiet', repoRoot, clone]);
    assert.equal(existsSync(join(clone, 'dist')), false, 'a clone has no dist/');
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
    // npm's own variables from an outer `npm test` must not steer the inner npm
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], {
      cwd: clone,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const files = new Set(
      (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path),
    );
    const has = (path: string): void => assert.ok(files.has(path), `the package ships ${path}`);

    const pkg = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as {
      'node-red': { nodes: Record<string, string> };
      bin: Record<string, string>;
    };
    const nodes = Object.entries(pkg['node-red'].nodes);
    assert.ok(nodes.length >= 13);
    for (const [type, js] of nodes) {
      has(js);
      assert.match(js, /^dist\/nodes\/[\w-]+\.js$/);
      has(`dist/nodes/${type}.html`);
      const html = readFileSync(join(clone, 'nodes', `${type}.html`), 'utf8');
      for (const [, icon] of html.matchAll(/\bicon: *['"]([\w.-]+\.(?:svg|png))['"]/g)) has(`dist/nodes/icons/${icon}`);
    }
    for (const f of filesUnder(join(clone, 'nodes', 'locales'), join(clone, 'nodes')))
      has(`dist/nodes/${f.split('\\').join('/')}`);
    for (const f of filesUnder(join(clone, 'icons'), clone)) has(`dist/nodes/${f}`);
    for (const folder of ['resources', 'examples']) for (const f of filesUnder(join(clone, folder), clone)) has(f);
    for (const bin of Object.values(pkg.bin)) has(bin);
    has('dist/core/cli/main.js');
    // what a user does not need stays out: the tests, the build's source maps
    assert.deepEqual(
      [...files].filter((f) => f.startsWith('dist/test/') || f.endsWith('.map') || f.endsWith('.ts')),
      [],
    );
  });
});
