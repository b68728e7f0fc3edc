/** `docs/<file>.md` optionally followed by `#<anchor>`, as comments cite them (docs/comment-map.md). */
const CITATION = /\bdocs\/([\w./-]+?\.md)(?:#([\w-]+))?/g;

export interface DocsReader {
  exists(path: string): boolean;
  read(path: string): string;
}

/** The anchors GitHub gives a markdown file's headings, in order (fenced code skipped). */
export function headingAnchors(markdown: string): string[] {
  const seen = new Map<string, number>();
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const h = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const base = h[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.push(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Each citation in `text` whose file or heading does not exist, as `<line>: <citation>: <why>`. */
export function brokenCitations(text: string, docs: DocsReader): string[] {
  const anchors = new Map<string, string[]>();
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(CITATION)) {
      const path = `docs/${m[1]!}`;
      const anchor = m[2];
      const cited = anchor ? `${path}#${anchor}` : path;
      if (!docs.exists(path)) {
        out.push(`${i + 1}: ${cited}: no such file`);
        continue;
      }
      if (!anchor) continue;
      if (!anchors.has(path)) anchors.set(path, headingAnchors(docs.read(path)));
      if (!anchors.get(path)!.includes(anchor)) out.push(`${i + 1}: ${cited}: no such heading`);
    }
  });
  return out;
}

/** `[text](target)` in markdown; the target up to the first space or closing parenthesis. */
const LINK = /\]\(([^)\s]+)\)/g;

/**
 * Each relative link in the markdown file `file` (a path from the repository root) whose target
 * does not exist, or whose `#anchor` is not a heading of the markdown file it points to.
 */
export function brokenLinks(file: string, text: string, docs: DocsReader): string[] {
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  const out: string[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) return;
    // code spans hold no links: `A-B:C.D.E[*F](group)` is an OBIS pattern
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(LINK)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [rel = '', anchor] = target.split('#', 2);
      const path = rel ? joinPosix(dir, rel) : file;
      if (!docs.exists(path)) {
        out.push(`${i + 1}: ${target}: no such file`);
        continue;
      }
      if (anchor && path.endsWith('.md') && !headingAnchors(docs.read(path)).includes(anchor))
        out.push(`${i + 1}: ${target}: no such heading`);
    }
  });
  return out;
}

function joinPosix(dir: string, rel: string): string {
  const parts = dir ? dir.split('/') : [];
  for (const p of rel.split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '.' && p !== '') parts.push(p);
  }
  return parts.join('/');
}
