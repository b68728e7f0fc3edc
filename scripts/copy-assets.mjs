// Node-RED looks for a node's .html, locales/ and icons/ next to its runtime .js, so the
// build puts them beside dist/nodes/*.js (see CONTRIBUTING.md#build).
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'nodes');
mkdirSync(out, { recursive: true });
for (const f of readdirSync(join(root, 'nodes'))) {
  if (f.endsWith('.html')) cpSync(join(root, 'nodes', f), join(out, f));
}
cpSync(join(root, 'nodes', 'locales'), join(out, 'locales'), { recursive: true });
cpSync(join(root, 'icons'), join(out, 'icons'), { recursive: true });
