import type { Frontier, Span } from './builder';
import { blockEnd, type BlockKey, type Level } from './ids';
import type { OpenedStore, TmpoStore } from './store';

/**
 * What the store holds of each sensor, by `sid/rid`: below the end of its latest joined block
 * (level 12 and up) nothing may be added; above it, the span of every level-8 block, so that a
 * restart never writes a block whose key is taken nor stores a reading a second time. The
 * level-8 spans come from the store's check at open, which read every block already.
 */
export async function readFrontiers(store: TmpoStore, level8: OpenedStore['level8']): Promise<Map<string, Frontier>> {
  const out = new Map<string, Frontier>();
  const spans = new Map<string, Span[]>();
  for (const b of level8) {
    const id = `${b.key.sid}/${b.key.rid}`;
    let list = spans.get(id);
    if (!list) spans.set(id, (list = []));
    list.push({ key: b.key.bid, head: b.head, tail: b.tail });
  }
  for (const sid of await store.sensors()) {
    for (const rid of await store.rids(sid)) {
      const id = `${sid}/${rid}`;
      let base = 0;
      let baseTail = -1;
      for (const lvl of [12, 16, 20] as Level[]) {
        const bid = (await store.bids(sid, rid, lvl)).at(-1);
        if (bid === undefined || blockEnd(lvl, bid) <= base) continue;
        base = blockEnd(lvl, bid);
        baseTail = Math.max(baseTail, (await spanOf(store, { sid, rid, lvl, bid })).tail);
      }
      const blocks: Span[] = [];
      for (const s of (spans.get(id) ?? []).sort((a, b) => a.key - b.key)) {
        if (s.key >= base) blocks.push(s);
        else baseTail = Math.max(baseTail, s.tail);
      }
      if (base > 0 || blocks.length > 0) out.set(id, { base, baseTail, blocks });
    }
  }
  return out;
}
/** A block's first and last time; an unreadable one counts as its whole window. */
async function spanOf(store: TmpoStore, key: BlockKey): Promise<Span> {
  try {
    const block = await store.readBlock(key);
    if (block) return { key: key.bid, head: block.h.head[0], tail: block.h.tail[0] };
  } catch {
    // fall through
  }
  return { key: key.bid, head: key.bid, tail: blockEnd(key.lvl, key.bid) - 1 };
}
