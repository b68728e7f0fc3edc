import { TmpoFormatError, type TmpoBlock } from '../tmpo/block';
import { decodeBlock } from '../tmpo/codec';
import { blockEnd, blockId, blockTail, keyText, parentLevel, type BlockKey } from '../tmpo/ids';

/**
 * Choosing which stored blocks answer a request. Shared by the sync API, the series API and the
 * CLI, so all three agree on what the store holds.
 */

/** What the APIs need of a store: TmpoStore has both, the CLI's read-only reader too. */
export interface TmpoReader {
  /** keys in sync order (rid ascending, level descending, bid ascending) */
  list(filter?: { sid?: string; rid?: number }): Promise<BlockKey[]>;
  /** the gzip bytes, or undefined when the block is not (or no longer) stored */
  read(key: BlockKey): Promise<Buffer | undefined>;
  /** the decoded block, for a reader that keeps decoded blocks (the dashboard's); else read() is decoded */
  readBlock?(key: BlockKey): Promise<TmpoBlock | undefined>;
}

/** A listed block was gone when read: compaction moved it into its parent meanwhile. */
export class BlockVanishedError extends Error {
  override readonly name = 'BlockVanishedError';
}

const id = (sid: string, rid: number, lvl: number, bid: number): string => `${sid}/${rid}/${lvl}/${bid}`;

/**
 * The keys minus those lying inside a stored block of a higher level of the same sensor and rid.
 * Both exist for a moment while compaction runs (parent written, children not yet removed); the
 * Flukso server deletes such children (`clean`) and tmpo-py does too, so they are never served.
 * Windows are aligned powers of two, so what is left is disjoint in time.
 */
export function withoutCovered(keys: readonly BlockKey[]): BlockKey[] {
  const stored = new Set(keys.map((k) => id(k.sid, k.rid, k.lvl, k.bid)));
  return keys.filter((k) => {
    for (let up = parentLevel(k.lvl); up !== undefined; up = parentLevel(up)) {
      if (stored.has(id(k.sid, k.rid, up, blockId(k.bid, up)))) return false;
    }
    return true;
  });
}

/** One sensor and rid's blocks in time order, each second in at most one of them. */
export function timeline(keys: readonly BlockKey[]): BlockKey[] {
  return withoutCovered(keys).sort((a, b) => a.bid - b.bid);
}

/** Timeline blocks whose window meets [from, to] (both inclusive). */
export function overlapping(line: readonly BlockKey[], from: number, to: number): BlockKey[] {
  return line.filter((k) => k.bid <= to && blockEnd(k.lvl, k.bid) > from);
}

/** The client's last block in a sync request; lvl 0 and bid 0 on a first sync. */
export interface SyncFrom {
  rid: number;
  lvl: number;
  bid: number;
}

/**
 * The Flukso server's sync answer (fls `api_tmpo_sync.erl`, docs/protocols/tmpo.md#http-sync-api):
 * blocks with rid >= the client's and bid >= its bid rounded down to 2^20, in order rid ASC, lvl
 * DESC, bid ASC, keeping those whose tail (bid + 2^lvl - 1) is after the client's tail.
 *
 * tmpo-py takes the last block it wrote as its next starting point, so within a rid the tails
 * must increase strictly down the list; when they do not, 'inconsistent' (the server answers 597
 * after its retries).
 */
export function syncSelection(keys: readonly BlockKey[], from: SyncFrom): BlockKey[] | 'inconsistent' {
  const bid20 = blockId(from.bid, 20);
  const clientTail = from.bid + 2 ** from.lvl - 1;
  const candidates = withoutCovered(keys)
    .filter((k) => k.rid >= from.rid && k.bid >= bid20)
    .sort((a, b) => a.rid - b.rid || b.lvl - a.lvl || a.bid - b.bid);
  for (let i = 1; i < candidates.length; i++) {
    const prev = candidates[i - 1]!;
    const cur = candidates[i]!;
    if (prev.rid === cur.rid && blockTail(cur.lvl, cur.bid) <= blockTail(prev.lvl, prev.bid)) return 'inconsistent';
  }
  return candidates.filter((k) => blockTail(k.lvl, k.bid) > clientTail);
}

/** The highest rid stored for a sensor (tmpo-py's default), or undefined when none is. */
export function latestRid(keys: readonly BlockKey[]): number | undefined {
  let max: number | undefined;
  for (const k of keys) if (max === undefined || k.rid > max) max = k.rid;
  return max;
}

/** Read and decode one block; a damaged block is reported with its key. */
export async function readBlockAt(reader: TmpoReader, key: BlockKey): Promise<TmpoBlock> {
  try {
    const block = reader.readBlock ? await reader.readBlock(key) : await reader.read(key).then(decodeOrUndefined);
    if (!block) throw new BlockVanishedError(`block ${keyText(key)} is no longer stored`);
    return block;
  } catch (err) {
    if (err instanceof TmpoFormatError) throw new TmpoFormatError(`block ${keyText(key)}: ${err.message}`);
    throw err;
  }
}

const decodeOrUndefined = (bytes: Buffer | undefined): TmpoBlock | undefined =>
  bytes ? decodeBlock(bytes) : undefined;
