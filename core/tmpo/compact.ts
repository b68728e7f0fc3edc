import { TmpoFormatError, type TmpoBlock } from './block';
import { blockToSeries, encodeBlockStreaming } from './codec';
import { parentId, parentLevel, parentWindowPast, type BlockKey, type Level } from './ids';
import { mergeBlocks } from './merge';
import type { TmpoStore } from './store';

export type CompactionEvent =
  | { kind: 'compacted'; parent: BlockKey; children: BlockKey[]; bytes: number }
  /** the parent was already stored; the children were removed only if it holds all their samples */
  | { kind: 'parent-exists'; parent: BlockKey; children: BlockKey[]; childrenRemoved: boolean; reason: string }
  /** the children could not be joined (they overlap, or the existing parent is unreadable) */
  | { kind: 'refused'; parent: BlockKey; children: BlockKey[]; reason: string }
  | { kind: 'quarantined'; key: BlockKey; movedTo?: string; reason: string };

export interface CompactionReport {
  events: CompactionEvent[];
  /** blocks deleted afterwards to keep within the store's budget */
  evicted: BlockKey[];
}

const SOURCE_LEVELS: Level[] = [8, 12, 16];

/**
 * Compact 8 -> 12 -> 16 -> 20 (docs/protocols/tmpo.md#compaction): for each sensor and rid, level
 * by level, the siblings of every parent window that has fully passed at `now` are joined into the
 * parent. A parent written in this run is itself a candidate at the next level.
 *
 * `now` must be a time up to which the level-8 blocks are final, i.e. the pool's `closedBefore`,
 * not the wall clock: otherwise a window could be compacted before its last child is flushed.
 *
 * Safety: a parent is written through the store (checked, atomic, fsynced, never replacing an
 * existing block) and only then are its children removed. An existing parent is never touched.
 */
export async function compact(
  store: TmpoStore,
  now: number,
  opts: { signal?: AbortSignal } = {},
): Promise<CompactionReport> {
  const events: CompactionEvent[] = [];
  for (const sid of await store.sensors()) {
    for (const rid of await store.rids(sid)) {
      for (const lvl of SOURCE_LEVELS) {
        for (const group of siblingGroups(lvl, await store.bids(sid, rid, lvl), now)) {
          if (opts.signal?.aborted) return { events, evicted: await store.enforceBudget() };
          const children = group.bids.map((bid): BlockKey => ({ sid, rid, lvl, bid }));
          const parent: BlockKey = { sid, rid, lvl: parentLevel(lvl)!, bid: group.parentBid };
          events.push(...(await compactGroup(store, parent, children)));
        }
      }
    }
  }
  return { events, evicted: await store.enforceBudget() };
}

/** Ascending bids cut into runs that share a parent whose window is past. */
export function siblingGroups(
  lvl: Level,
  bids: readonly number[],
  now: number,
): Array<{ parentBid: number; bids: number[] }> {
  const groups: Array<{ parentBid: number; bids: number[] }> = [];
  for (const bid of bids) {
    if (!parentWindowPast(lvl, bid, now)) continue;
    const parentBid = parentId(lvl, bid);
    const current = groups[groups.length - 1];
    if (current && current.parentBid === parentBid) current.bids.push(bid);
    else groups.push({ parentBid, bids: [bid] });
  }
  return groups;
}

async function compactGroup(store: TmpoStore, parent: BlockKey, childKeys: BlockKey[]): Promise<CompactionEvent[]> {
  const loaded = await loadChildren(store, childKeys);
  if ('quarantined' in loaded) return loaded.quarantined;
  const { keys, blocks } = loaded;
  if (blocks.length === 0) return [];

  if (await store.has(parent)) return [await settleExistingParent(store, parent, keys, blocks)];

  let merged: TmpoBlock;
  try {
    merged = mergeBlocks(blocks);
  } catch (err) {
    return [{ kind: 'refused', parent, children: keys, reason: (err as Error).message }];
  }
  const bytes = await encodeBlockStreaming(merged);
  const put = await store.put(parent, bytes, { enforceBudget: false });
  if (put.status === 'exists') return [await settleExistingParent(store, parent, keys, blocks)];
  for (const key of keys) await store.remove(key);
  return [{ kind: 'compacted', parent, children: keys, bytes: bytes.length }];
}

type Loaded = { keys: BlockKey[]; blocks: TmpoBlock[] } | { quarantined: CompactionEvent[] };

/** Read the children; a damaged one goes to quarantine and the group waits for the next run. */
async function loadChildren(store: TmpoStore, keys: BlockKey[]): Promise<Loaded> {
  const present: BlockKey[] = [];
  const blocks: TmpoBlock[] = [];
  const quarantined: CompactionEvent[] = [];
  for (const key of keys) {
    try {
      const block = await store.readBlock(key);
      if (block) {
        present.push(key);
        blocks.push(block);
      }
    } catch (err) {
      if (!(err instanceof TmpoFormatError)) throw err;
      const w = await store.quarantine(key, err.message);
      quarantined.push({ kind: 'quarantined', key, ...(w.movedTo ? { movedTo: w.movedTo } : {}), reason: err.message });
    }
  }
  return quarantined.length > 0 ? { quarantined } : { keys: present, blocks };
}

/**
 * The parent exists. If it already holds every child sample (a crash between writing the parent
 * and removing the children, which tmpod also cleans at start), the children are redundant and
 * removed. Otherwise they hold data the parent lacks: both are left as they are and reported.
 */
async function settleExistingParent(
  store: TmpoStore,
  parent: BlockKey,
  keys: BlockKey[],
  blocks: TmpoBlock[],
): Promise<CompactionEvent> {
  let parentBlock: TmpoBlock | undefined;
  try {
    parentBlock = await store.readBlock(parent);
  } catch (err) {
    return {
      kind: 'refused',
      parent,
      children: keys,
      reason: `existing parent is unreadable: ${(err as Error).message}`,
    };
  }
  const parentTimes = parentBlock ? blockToSeries(parentBlock).times : [];
  if (!blocks.every((b) => containsAll(parentTimes, blockToSeries(b).times))) {
    return {
      kind: 'parent-exists',
      parent,
      children: keys,
      childrenRemoved: false,
      reason: 'children hold samples the stored parent lacks; both kept',
    };
  }
  for (const key of keys) await store.remove(key);
  return {
    kind: 'parent-exists',
    parent,
    children: keys,
    childrenRemoved: true,
    reason: 'stored parent already holds every child sample',
  };
}

/** Whether every time of `part` occurs in `whole`; both ascending. */
function containsAll(whole: readonly number[], part: readonly number[]): boolean {
  let i = 0;
  for (const x of part) {
    while (i < whole.length && whole[i]! < x) i++;
    if (whole[i] !== x) return false;
  }
  return true;
}
