import { constants, gunzipSync, gzipSync } from 'node:zlib';

/**
 * tmpod's compaction of sibling blocks into their parent (docs/protocols/tmpo.md#compaction), done on the
 * text as tmpod does it, not through our codec: the parent's header is the last source's with the
 * first source's head; `t` and `v` are source 1's arrays, then for each further source the gap to
 * the previous source's tail followed by that source's deltas (its leading 0 replaced by the gap).
 */

const BLOCK = /^\{"h":(\{.+?\}),"t":\[(.*?)\],"v":\[(.*?)\]\}$/;

interface Parsed {
  header: { head: [number, number]; tail: [number, number] } & Record<string, unknown>;
  t: string;
  v: string;
}

function parse(gz: Buffer): Parsed {
  const m = BLOCK.exec(gunzipSync(gz).toString('utf8'));
  if (!m) throw new Error('block text does not match {"h":…,"t":[…],"v":[…]}');
  return { header: JSON.parse(m[1]!) as Parsed['header'], t: m[2]!, v: m[3]! };
}

/** A delta list without its leading 0 ("0,5,7" -> ",5,7"; "0" -> ""). */
const rest = (list: string): string => list.slice(list.indexOf(',') === -1 ? list.length : list.indexOf(','));

/** tmpod opens block files with gzopen "w9f". */
const gzipLikeTmpod = (text: string): Buffer => gzipSync(text, { level: 9, strategy: constants.Z_FILTERED });

/** The parent block of `sources` (ascending bid, at least one). */
export function compactBlocks(sources: readonly Buffer[]): Buffer {
  const parsed = sources.map(parse);
  const first = parsed[0]!;
  const last = parsed[parsed.length - 1]!;
  let t = first.t;
  let v = first.v;
  for (let i = 1; i < parsed.length; i++) {
    const prev = parsed[i - 1]!.header.tail;
    const head = parsed[i]!.header.head;
    t += `,${head[0] - prev[0]}${rest(parsed[i]!.t)}`;
    v += `,${head[1] - prev[1]}${rest(parsed[i]!.v)}`;
  }
  const header = { ...last.header, head: first.header.head };
  return gzipLikeTmpod(`{"h":${JSON.stringify(header)},"t":[${t}],"v":[${v}]}`);
}
