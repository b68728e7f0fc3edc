// Part of `npm run lint`: every export of core/, nodes/ and the test and bench support is imported
// by some other file of the project (tests, benches and scripts count as users). An export nothing
// imports is dead code or should not be exported. Uses the TypeScript compiler that builds the
// project, so it follows re-exports and `import type` exactly as tsc does. Types are left out: an
// exported type often just names the parameter of an exported function.
import ts from 'typescript';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const checked = /^(core|nodes|test\/support|bench\/support\.ts|bench\/runtime\.ts)(\/|$)/;

// What Node-RED and the shell load (package.json's node-red.nodes and bin) is used from outside.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entries = new Set(
  [...Object.values(pkg['node-red'].nodes), ...Object.values(pkg.bin)].map((js) =>
    js.replace(/^dist\//, '').replace(/\.js$/, '.ts'),
  ),
);

const config = ts.getParsedCommandLineOfConfigFile(
  join(root, 'tsconfig.json'),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, noEmit: true } });
const checker = program.getTypeChecker();
const project = program
  .getSourceFiles()
  .filter((sf) => !sf.isDeclarationFile && !sf.fileName.includes('/node_modules/'));
const rel = (file) => relative(root, file).split(sep).join('/');

/** The declaration an alias (import, re-export) finally names. */
function target(symbol) {
  return symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function moduleOf(specifier) {
  const symbol = checker.getSymbolAtLocation(specifier);
  return symbol && symbol.flags & ts.SymbolFlags.ValueModule ? symbol : undefined;
}

const used = new Set();
const useAll = (moduleSymbol) => {
  if (moduleSymbol) for (const e of checker.getExportsOfModule(moduleSymbol)) used.add(target(e));
};

for (const sf of project) {
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && node.importClause) {
      const { name, namedBindings } = node.importClause;
      if (name) used.add(target(checker.getSymbolAtLocation(name)));
      if (namedBindings && ts.isNamespaceImport(namedBindings)) useAll(moduleOf(node.moduleSpecifier));
      if (namedBindings && ts.isNamedImports(namedBindings)) {
        for (const el of namedBindings.elements) used.add(target(checker.getSymbolAtLocation(el.name)));
      }
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      // `export * from` re-exports whatever the other module has: the names count where imported.
      if (node.exportClause && ts.isNamedExports(node.exportClause)) {
        for (const el of node.exportClause.elements) used.add(target(checker.getSymbolAtLocation(el.name)));
      } else if (node.exportClause) useAll(moduleOf(node.moduleSpecifier));
    } else if (ts.isImportEqualsDeclaration(node)) {
      used.add(target(checker.getSymbolAtLocation(node.name)));
    } else if (ts.isImportTypeNode(node) && node.qualifier) {
      used.add(target(checker.getSymbolAtLocation(node.qualifier)));
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      useAll(moduleOf(node.arguments[0]));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

const unused = [];
for (const sf of project) {
  const file = rel(sf.fileName);
  if (!checked.test(file) || entries.has(file)) continue;
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  if (!moduleSymbol) continue;
  for (const e of checker.getExportsOfModule(moduleSymbol)) {
    // `export =` is the module itself (a Node-RED node file, loaded by Node-RED).
    if (e.escapedName === 'export=') continue;
    if (used.has(target(e))) continue;
    // Types named in the signature of an exported function are documentation of that function;
    // only values (functions, classes, constants) are dead when nothing imports them.
    if (!(target(e).flags & ts.SymbolFlags.Value)) continue;
    const decl = e.declarations?.[0];
    const line = decl ? sf.getLineAndCharacterOfPosition(decl.getStart()).line + 1 : 1;
    unused.push(`${file}:${line}  ${e.name}`);
  }
}

if (unused.length) {
  console.error(`${unused.length} exports that no other file imports (remove them, or drop the \`export\`):`);
  for (const u of unused.sort()) console.error(`  ${u}`);
  process.exit(1);
}
console.log(`unused exports: none in ${project.filter((sf) => checked.test(rel(sf.fileName))).length} files`);
