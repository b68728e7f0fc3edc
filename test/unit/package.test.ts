import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/paths';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, any>;

test("package.json names only what exists: every node, the bin, every file entry, and no repository, homepage or bug tracker that is not this project's", () => {
  for (const [type, file] of Object.entries(pkg['node-red'].nodes as Record<string, string>)) {
    assert.ok(existsSync(join(repoRoot, file)), `${type}: ${file}`);
    assert.ok(existsSync(join(repoRoot, 'nodes', `${type}.html`)), `${type}: its editor file`);
  }
  for (const file of Object.values(pkg.bin as Record<string, string>))
    assert.ok(existsSync(join(repoRoot, file)), file);
  for (const entry of pkg.files as string[]) assert.ok(existsSync(join(repoRoot, entry)), entry);
  // This project has no public home yet: a URL here would send people (and npm) to someone else's.
  for (const key of ['repository', 'homepage', 'bugs']) assert.equal(pkg[key], undefined, key);
  const types = Object.keys(pkg['node-red'].nodes as Record<string, string>).map((t) => t.replace(/^flm-/, ''));
  for (const sink of ['homeassistant', 'openhab', 'mysql', 'tmpo', 'upload', 'broker', 'p1', 'board'])
    assert.ok(types.includes(sink), `the description names ${sink}`);
});
