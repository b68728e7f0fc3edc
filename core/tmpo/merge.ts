import { TmpoFormatError, type TmpoBlock } from './block';

/**
 * Join sibling blocks, in time order, into their parent the way tmpod's compactor does
 * (docs/protocols/tmpo.md#compaction):
 * - `h` is the last child's header (tail, vsn, cfg) with the first child's head;
 * - `t`/`v` are 0, the first child's deltas, then for each next child the gap from the previous
 *   child's tail to its head followed by its deltas. The value gap is the plain difference of the
 *   two raw header values, not rounded (tmpod does not round it either).
 *
 * The result decodes to exactly the concatenation of the children's samples. Children that
 * overlap in time would break the strictly increasing times, so they are refused.
 */
export function mergeBlocks(children: readonly TmpoBlock[]): TmpoBlock {
  if (children.length === 0) throw new RangeError('nothing to merge');
  const first = children[0]!;
  const last = children[children.length - 1]!;
  let total = 0;
  for (const c of children) total += c.t.length;

  const t = new Array<number>(total);
  const v = new Array<number>(total);
  let at = 0;
  children.forEach((child, i) => {
    if (i === 0) {
      t[at] = 0;
      v[at] = 0;
    } else {
      const prev = children[i - 1]!;
      const gap = child.h.head[0] - prev.h.tail[0];
      if (gap <= 0)
        throw new TmpoFormatError(`block starting at ${child.h.head[0]} overlaps the one ending at ${prev.h.tail[0]}`);
      t[at] = gap;
      v[at] = child.h.head[1] - prev.h.tail[1];
    }
    at++;
    for (let j = 1; j < child.t.length; j++, at++) {
      t[at] = child.t[j]!;
      v[at] = child.v[j]!;
    }
  });
  return { h: { ...last.h, head: [first.h.head[0], first.h.head[1]], tail: [last.h.tail[0], last.h.tail[1]] }, t, v };
}
