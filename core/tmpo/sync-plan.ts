import { z } from 'zod';
import { blockTail, compareKeys, type BlockKey, LEVELS } from './ids';

/**
 * The server's answer on /d/device/<did>/tmpo/sync (docs/protocols/tmpo.md#sync): per sensor, the
 * last block it stored, or lvl 0 / bid 0 when it has none.
 */
export const syncEntriesSchema = z
  .array(
    z
      .object({
        sid: z.string().regex(/^[0-9a-f]{32}$/),
        rid: z.number().int().min(0),
        lvl: z
          .number()
          .int()
          .refine((l) => l === 0 || (LEVELS as readonly number[]).includes(l), 'lvl is 0, 8, 12, 16 or 20'),
        bid: z.number().int().min(0),
      })
      .passthrough(),
  )
  .max(10_000);

export type SyncEntry = z.infer<typeof syncEntriesSchema>[number];

/**
 * What to publish again so the other side catches up: for each entry, every block of that
 * sensor with rid >= entry.rid whose window ends after the entry's (stail = bid + 2^lvl - 1),
 * levels 20, 16, 12, 8 in that order, as tmpod does. lvl 0 means "send everything".
 */
export function planResend(entries: SyncEntry[], blocks: BlockKey[]): BlockKey[] {
  const out: BlockKey[] = [];
  for (const e of entries) {
    const stail = e.lvl === 0 ? -1 : blockTail(e.lvl as (typeof LEVELS)[number], e.bid);
    const mine = blocks.filter((k) => k.sid === e.sid && k.rid >= e.rid && blockTail(k.lvl, k.bid) > stail);
    mine.sort((a, b) => a.rid - b.rid || b.lvl - a.lvl || compareKeys(a, b));
    out.push(...mine);
  }
  return out;
}
