import type { Frontier } from './builder';
import { LEVELS, blockEnd, type BlockKey } from './ids';
import type { TmpoStore } from './store';

/**
 * Where each sensor's stored series ends, by `sid/rid`: the end of its latest block at any
 * level and the time of that block's last sample. New blocks only go after it, so a restart
 * never writes a block whose key is taken, and never stores a sample a second time.
 */
export async function readFrontiers(store: TmpoStore): Promise<Map<string, Frontier>> {
  const out = new Map<string, Frontier>();
  for (const sid of await store.sensors()) {
    for (const rid of await store.rids(sid)) {
      let latest: BlockKey | undefined;
      for (const lvl of LEVELS) {
        const bid = (await store.bids(sid, rid, lvl)).at(-1);
        if (bid !== undefined && (!latest || blockEnd(lvl, bid) > blockEnd(latest.lvl, latest.bid))) latest = { sid, rid, lvl, bid };
      }
      if (!latest) continue;
      const end = blockEnd(latest.lvl, latest.bid);
      let tail = end - 1;
      try {
        tail = (await store.readBlock(latest))?.h.tail[0] ?? tail;
      } catch {
        // unreadable: nothing goes into its window again, which is what the fallback says
      }
      out.set(`${sid}/${rid}`, { end, tail });
    }
  }
  return out;
}
