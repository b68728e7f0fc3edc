// An eslint rule for the dependency order of docs/architecture.md#dependency-order: a module imports
// from its own folder or from a folder of a lower rank; folders of one rank are siblings and never
// import each other; nothing in core/ imports nodes/, scripts/, test/ or bench/. The order is read
// from the JSON block in that section, so the document and the rule cannot drift apart.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outsideCore = ['nodes', 'scripts', 'test', 'bench'];

/** The ranks as written in docs/architecture.md: an array of ranks, each an array of folders. */
export function readOrder(doc = join(root, 'docs', 'architecture.md')) {
  const text = readFileSync(doc, 'utf8');
  const section = text.split(/^## Dependency order\s*$/m)[1]?.split(/^## /m)[0] ?? '';
  const block = /```json\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error(`${doc}: no \`\`\`json block with the folder ranks under "## Dependency order"`);
  return JSON.parse(block[1]);
}

/** Folder -> rank, for the longest folder prefix of a repository-relative path. */
function layerOf(order, path) {
  let best;
  order.forEach((folders, rank) => {
    for (const folder of folders) {
      if ((path === folder || path.startsWith(folder + '/')) && (!best || folder.length > best.folder.length)) {
        best = { folder, rank };
      }
    }
  });
  return best;
}

const order = readOrder();

export const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'imports follow the dependency order of docs/architecture.md' },
    messages: {
      upward:
        '{{from}} (rank {{fromRank}}) must not import {{to}} (rank {{toRank}}): see docs/architecture.md#dependency-order',
      sibling:
        '{{from}} and {{to}} share rank {{fromRank}} and must not import each other: see docs/architecture.md#dependency-order',
      outside: 'core/ must not import {{to}}: core stands alone (docs/architecture.md#dependency-order)',
      tooling: 'nodes/ must not import {{to}}: only tests, benches and scripts import those',
      unranked: '{{from}} is not in the dependency order: add its folder to docs/architecture.md#dependency-order',
    },
    schema: [],
  },
  create(context) {
    const file = relative(root, context.filename).split(sep).join('/');
    const inCore = file.startsWith('core/');
    const inNodes = file.startsWith('nodes/');
    if (!inCore && !inNodes) return {};
    const from = layerOf(order, file);

    function check(node, source) {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = relative(root, resolve(dirname(context.filename), source.value))
        .split(sep)
        .join('/');
      const top = target.split('/')[0];
      if (inNodes) {
        if (outsideCore.includes(top) && top !== 'nodes')
          context.report({ node, messageId: 'tooling', data: { to: target } });
        return;
      }
      if (top !== 'core') return context.report({ node, messageId: 'outside', data: { to: target } });
      if (!from) return context.report({ node, messageId: 'unranked', data: { from: file } });
      const to = layerOf(order, target);
      if (!to)
        return context.report({ node, messageId: 'unranked', data: { from: target.split('/').slice(0, 2).join('/') } });
      if (to.folder === from.folder) return;
      const data = { from: from.folder, to: to.folder, fromRank: from.rank + 1, toRank: to.rank + 1 };
      if (to.rank > from.rank) context.report({ node, messageId: 'upward', data });
      else if (to.rank === from.rank) context.report({ node, messageId: 'sibling', data });
    }

    return {
      ImportDeclaration: (n) => check(n, n.source),
      ExportNamedDeclaration: (n) => check(n, n.source),
      ExportAllDeclaration: (n) => check(n, n.source),
      ImportExpression: (n) => check(n, n.source.type === 'Literal' ? n.source : null),
    };
  },
};
