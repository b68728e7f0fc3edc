import { join } from 'node:path';

/**
 * Block levels, ids and file names (docs/protocols/tmpo.md#levels, #block-ids). A level-L block
 * covers [bid, bid + 2^L) and its bid is a multiple of 2^L; each level holds 16 blocks of the
 * level below.
 */

export const LEVELS = [8, 12, 16, 20] as const;
export type Level = (typeof LEVELS)[number];

/** One block: sensor id, recycle id, level, block id. */
export interface BlockKey {
  sid: string;
  rid: number;
  lvl: Level;
  bid: number;
}

/** Sensor ids are hex (FLM topics match `%x+`); checking it also keeps paths inside the store. */
const SID = /^[0-9a-f]{1,64}$/;

export const isLevel = (n: unknown): n is Level => LEVELS.includes(n as Level);
export const isSid = (s: unknown): s is string => typeof s === 'string' && SID.test(s);
export const isRid = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

export const span = (lvl: Level): number => 2 ** lvl;

/** The id of the level-`lvl` block holding time `ts`. */
export const blockId = (ts: number, lvl: Level): number => Math.floor(ts / span(lvl)) * span(lvl);

export const isBlockId = (lvl: Level, bid: unknown): bid is number =>
  Number.isSafeInteger(bid) && (bid as number) >= 0 && (bid as number) % span(lvl) === 0;

/** First second after the block's window. */
export const blockEnd = (lvl: Level, bid: number): number => bid + span(lvl);

/** Last second inside the block's window: the "tail" the server and the sync protocol compare. */
export const blockTail = (lvl: Level, bid: number): number => bid + span(lvl) - 1;

export function parentLevel(lvl: Level): Level | undefined {
  return lvl === 20 ? undefined : ((lvl + 4) as Level);
}

export function childLevel(lvl: Level): Level | undefined {
  return lvl === 8 ? undefined : ((lvl - 4) as Level);
}

/** Id of the block one level up that will hold this one. */
export function parentId(lvl: Level, bid: number): number {
  const up = parentLevel(lvl);
  if (up === undefined) throw new RangeError('level 20 blocks have no parent');
  return blockId(bid, up);
}

/** Ids of the 16 possible children of a block, in time order. */
export function childIds(lvl: Level, bid: number): number[] {
  const down = childLevel(lvl);
  if (down === undefined) throw new RangeError('level 8 blocks have no children');
  return Array.from({ length: 16 }, (_, i) => bid + i * span(down));
}

/** Id of the last child, `bid + 15 * 2^(lvl-4)` (tmpo-py `_lastchild`, fls `last_child`). */
export const lastChildId = (lvl: Level, bid: number): number => childIds(lvl, bid)[15]!;

/**
 * Whether the parent window of a block has fully passed at `now`, so its siblings can be compacted:
 * floor(bid / 2^(L+4)) < floor(now / 2^(L+4)) (docs/protocols/tmpo.md#compaction).
 */
export function parentWindowPast(lvl: Level, bid: number, now: number): boolean {
  const up = parentLevel(lvl);
  if (up === undefined) return false;
  return Math.floor(bid / span(up)) < Math.floor(now / span(up));
}

export function assertBlockKey(key: BlockKey): void {
  if (!isSid(key.sid)) throw new RangeError(`invalid sensor id ${JSON.stringify(key.sid)}`);
  if (!isRid(key.rid)) throw new RangeError(`invalid rid ${key.rid}`);
  if (!isLevel(key.lvl)) throw new RangeError(`invalid level ${key.lvl}`);
  if (!isBlockId(key.lvl, key.bid)) throw new RangeError(`bid ${key.bid} is not a multiple of 2^${key.lvl}`);
}

export const tmpoDir = (dataDir: string): string => join(dataDir, 'tmpo');
export const sensorDir = (dataDir: string): string => join(dataDir, 'tmpo', 'sensor');
export const quarantineDir = (dataDir: string): string => join(dataDir, 'tmpo', 'quarantine');

/** `<dataDir>/tmpo/sensor/<sid>/<rid>/<lvl>/<bid>`: the FLM's layout, a gzip file without extension. */
export function blockPath(dataDir: string, key: BlockKey): string {
  assertBlockKey(key);
  return join(sensorDir(dataDir), key.sid, String(key.rid), String(key.lvl), String(key.bid));
}

/** `sid/rid/lvl/bid`, for messages. */
export const keyText = (key: BlockKey): string => `${key.sid}/${key.rid}/${key.lvl}/${key.bid}`;

/** Order of the sync protocol and of tmpo-py's list: rid ascending, level descending, bid ascending. */
export function compareKeys(a: BlockKey, b: BlockKey): number {
  if (a.sid !== b.sid) return a.sid < b.sid ? -1 : 1;
  return a.rid - b.rid || b.lvl - a.lvl || a.bid - b.bid;
}
