import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import type { PackageJson } from './package-install';

/** What a node type's editor files promise: read from the files Node-RED itself loads. */
export interface NodeTypeInfo {
  type: string;
  /** node-set name (key of package.json `node-red.nodes`) */
  set: string;
  category: string;
  isConfig: boolean;
  /** `icon:` of the registerType call, if a plain string */
  icon?: string;
  /** `paletteLabel:` if a plain string */
  paletteLabel?: string;
  /** ids of `node-input-*` / `node-config-input-*` elements in the edit template */
  fieldIds: string[];
  /** text of the first <p> of the help, whitespace collapsed, tags stripped, entities decoded */
  helpFirstParagraph?: string;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&nbsp;/g, ' ')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

function plainText(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
}

/** The inner HTML of every `<script ... data-<attr>="<name>">` block, keyed by name. */
function scriptBlocks(html: string, attr: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`<script\\b[^>]*\\bdata-${attr}=["']([^"']+)["'][^>]*>([\\s\\S]*?)</script>`, 'g');
  for (const m of html.matchAll(re)) out.set(m[1]!, m[2]!);
  return out;
}

/** `registerType('<type>', { ... })` calls with the text up to the next registerType (or the end). */
function registrations(html: string): Array<{ type: string; body: string }> {
  const re = /RED\.nodes\.registerType\(\s*['"]([^'"]+)['"]\s*,/g;
  const hits = [...html.matchAll(re)];
  return hits.map((m, i) => ({
    type: m[1]!,
    body: html.slice(m.index! + m[0].length, i + 1 < hits.length ? hits[i + 1]!.index : html.length),
  }));
}

function firstString(body: string, key: string): string | undefined {
  const m = new RegExp(`\\b${key}\\s*:\\s*['"]([^'"]+)['"]`).exec(body);
  return m?.[1];
}

/**
 * Every node type of an installed (or checked-out) package, from its `node-red.nodes` map: the
 * `.html` next to each `.js` (definition, edit template, maybe help) and
 * `locales/en-US/<set>.html` (help), exactly where Node-RED looks for them.
 */
export function describeNodeTypes(pkgDir: string, pkg: PackageJson): NodeTypeInfo[] {
  const out: NodeTypeInfo[] = [];
  for (const [set, jsPath] of Object.entries(pkg['node-red']?.nodes ?? {})) {
    const htmlPath = join(pkgDir, jsPath.replace(/\.c?js$/, '.html'));
    const html = readFileSync(htmlPath, 'utf8');
    const localeHelp = join(pkgDir, dirname(jsPath), 'locales', 'en-US', basename(jsPath).replace(/\.c?js$/, '.html'));
    const help = new Map([
      ...scriptBlocks(html, 'help-name'),
      ...(existsSync(localeHelp) ? scriptBlocks(readFileSync(localeHelp, 'utf8'), 'help-name') : []),
    ]);
    const templates = scriptBlocks(html, 'template-name');
    for (const { type, body } of registrations(html)) {
      const category = firstString(body, 'category') ?? '';
      const template = templates.get(type) ?? '';
      const fieldIds = [...template.matchAll(/\bid=["'](node-(?:config-)?input-[^"']+)["']/g)].map((m) => m[1]!);
      const helpHtml = help.get(type);
      const p = helpHtml ? /<p\b[^>]*>([\s\S]*?)<\/p>/.exec(helpHtml) : null;
      out.push({
        type,
        set,
        category,
        isConfig: category === 'config',
        icon: firstString(body, 'icon'),
        paletteLabel: firstString(body, 'paletteLabel'),
        fieldIds,
        helpFirstParagraph: p ? plainText(p[1]!) : undefined,
      });
    }
  }
  return out;
}
