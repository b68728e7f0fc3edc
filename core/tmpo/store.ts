import { promises as fs, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import type { TmpoBlock } from './block';
import {
  LEVELS,
  assertBlockKey,
  blockPath,
  compareKeys,
  isBlockId,
  isSid,
  keyText,
  sensorDir,
  type BlockKey,
  type Level,
} from './ids';
import { moveToQuarantine } from './quarantine';
import { entries, parseDecimal, scanStore } from './scan';
import { verifyBlock } from './verify';

export interface StoreWarning {
  kind: 'quarantined' | 'temp-removed' | 'ignored';
  path: string;
  /** for `quarantined`: where the file is now */
  movedTo?: string;
  reason: string;
}

export interface TmpoStoreOptions {
  /** most bytes of blocks kept; over it the oldest level-20 blocks go first (docs/protocols/tmpo.md#retention) */
  maxBytes?: number;
  /** blocks checked in parallel at open */
  verifyConcurrency?: number;
}

export interface OpenedStore {
  store: TmpoStore;
  warnings: StoreWarning[];
  /** blocks deleted at open because the store was over its budget */
  evicted: BlockKey[];
  /** every level-8 block found intact at open, with its first and last sample time */
  level8: Array<{ key: BlockKey; head: number; tail: number }>;
}

export interface PutResult {
  /** `exists`: a block with that key is already stored; it was left as it was */
  status: 'written' | 'exists';
  /** blocks deleted to keep within the budget */
  evicted: BlockKey[];
}

/**
 * TMPO blocks on disk in the FLM's layout, `<dataDir>/tmpo/sensor/<sid>/<rid>/<lvl>/<bid>`.
 *
 * - Every write goes through writeFileAtomic (temp, fsync, rename, fsync folder) and a stored
 *   block is never overwritten, so a crash leaves each block whole or absent.
 * - At open every block is gunzipped and checked; a bad one is moved to `tmpo/quarantine/` and
 *   reported, never deleted.
 * - Only the total byte count is kept in memory; listings read the folders.
 * - Changes (put, remove, quarantine, eviction) run one at a time, in call order.
 */
export class TmpoStore {
  private bytes = 0;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dataDir: string,
    private readonly options: TmpoStoreOptions,
  ) {}

  static async open(dataDir: string, options: TmpoStoreOptions = {}): Promise<OpenedStore> {
    const store = new TmpoStore(dataDir, options);
    await fs.mkdir(sensorDir(dataDir), { recursive: true });
    const level8: OpenedStore['level8'] = [];
    const warnings = await store.checkAll(level8);
    const evicted = await store.exclusive(() => store.evict());
    const gone = new Set(evicted.map(keyText));
    return { store, warnings, evicted, level8: level8.filter((b) => !gone.has(keyText(b.key))) };
  }

  /** Bytes of all stored blocks (quarantine not counted). */
  get totalBytes(): number {
    return this.bytes;
  }

  async sensors(): Promise<string[]> {
    return (await entries(sensorDir(this.dataDir)))
      .filter((e) => e.isDirectory() && isSid(e.name))
      .map((e) => e.name)
      .sort();
  }

  async rids(sid: string): Promise<number[]> {
    if (!isSid(sid)) return [];
    return numbers(await entries(join(sensorDir(this.dataDir), sid)), (e) => e.isDirectory());
  }

  /** Block ids of one sensor, rid and level, ascending. */
  async bids(sid: string, rid: number, lvl: Level): Promise<number[]> {
    if (!isSid(sid)) return [];
    const dir = join(sensorDir(this.dataDir), sid, String(rid), String(lvl));
    return numbers(await entries(dir), (e) => e.isFile()).filter((bid) => isBlockId(lvl, bid));
  }

  /** Keys in sync order (sid, rid ascending, level descending, bid ascending). */
  async list(filter: { sid?: string; rid?: number; lvl?: Level } = {}): Promise<BlockKey[]> {
    const keys: BlockKey[] = [];
    const sids = filter.sid !== undefined ? [filter.sid] : await this.sensors();
    for (const sid of sids) {
      const rids = filter.rid !== undefined ? [filter.rid] : await this.rids(sid);
      for (const rid of rids) {
        for (const lvl of filter.lvl !== undefined ? [filter.lvl] : LEVELS) {
          for (const bid of await this.bids(sid, rid, lvl)) keys.push({ sid, rid, lvl, bid });
        }
      }
    }
    return keys.sort(compareKeys);
  }

  async has(key: BlockKey): Promise<boolean> {
    return (await this.size(key)) !== undefined;
  }

  /** The stored gzip bytes, or undefined when there is no such block. */
  async read(key: BlockKey): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(blockPath(this.dataDir, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The decoded block, or undefined when absent; throws TmpoFormatError if it went bad. */
  async readBlock(key: BlockKey): Promise<TmpoBlock | undefined> {
    const bytes = await this.read(key);
    return bytes && verifyBlock(key, bytes);
  }

  /**
   * Store a new block. The bytes are checked first (a bad block is refused with TmpoFormatError,
   * not stored); an existing block is never replaced. The budget is enforced afterwards unless
   * `enforceBudget: false` (compaction, which removes the children right after, asks for that).
   */
  async put(key: BlockKey, bytes: Uint8Array, opts: { enforceBudget?: boolean } = {}): Promise<PutResult> {
    assertBlockKey(key);
    verifyBlock(key, bytes);
    return this.exclusive(async () => {
      if (await this.has(key)) return { status: 'exists', evicted: [] };
      await writeFileAtomic(blockPath(this.dataDir, key), bytes);
      this.bytes += bytes.length;
      const evicted = opts.enforceBudget === false ? [] : await this.evict(key);
      return { status: 'written', evicted };
    });
  }

  /** Delete a block; false when it was not there. */
  async remove(key: BlockKey): Promise<boolean> {
    assertBlockKey(key);
    return this.exclusive(() => this.unlink(key));
  }

  /** Move a block that turned out bad to the quarantine folder. */
  async quarantine(key: BlockKey, reason: string): Promise<StoreWarning> {
    assertBlockKey(key);
    return this.exclusive(async () => {
      const path = blockPath(this.dataDir, key);
      const size = await this.size(key);
      const movedTo = await moveToQuarantine(this.dataDir, path);
      this.bytes -= size ?? 0;
      return { kind: 'quarantined', path, movedTo, reason: `block ${keyText(key)}: ${reason}` };
    });
  }

  /** Delete blocks until within the budget; returns what went. */
  enforceBudget(): Promise<BlockKey[]> {
    return this.exclusive(() => this.evict());
  }

  /**
   * Oldest level-20 window first, all sensors' blocks of that window together (tmpod `gc20`);
   * only when no level-20 block is left, the oldest lower-level blocks. `keep` is never taken.
   */
  private async evict(keep?: BlockKey): Promise<BlockKey[]> {
    const max = this.options.maxBytes;
    if (max === undefined || this.bytes <= max) return [];
    const candidates = (await this.list()).filter((k) => !keep || compareKeys(k, keep) !== 0);
    const level20 = candidates.filter((k) => k.lvl === 20).sort((a, b) => a.bid - b.bid);
    const lower = candidates.filter((k) => k.lvl !== 20).sort((a, b) => a.bid - b.bid || b.lvl - a.lvl);
    const evicted: BlockKey[] = [];
    while (this.bytes > max && level20.length > 0) {
      const oldest = level20[0]!.bid;
      while (level20.length > 0 && level20[0]!.bid === oldest) {
        const key = level20.shift()!;
        if (await this.unlink(key)) evicted.push(key);
      }
    }
    while (this.bytes > max && lower.length > 0) {
      const key = lower.shift()!;
      if (await this.unlink(key)) evicted.push(key);
    }
    return evicted;
  }

  private async unlink(key: BlockKey): Promise<boolean> {
    const size = await this.size(key);
    if (size === undefined) return false;
    await fs.rm(blockPath(this.dataDir, key), { force: true });
    this.bytes -= size;
    return true;
  }

  private async size(key: BlockKey): Promise<number | undefined> {
    try {
      const st = await fs.stat(blockPath(this.dataDir, key));
      return st.isFile() ? st.size : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The start-up check: verify every block, quarantine the bad, clear interrupted writes. */
  private async checkAll(level8: OpenedStore['level8']): Promise<StoreWarning[]> {
    const scan = await scanStore(this.dataDir);
    const warnings: StoreWarning[] = [];
    for (const path of scan.tempFiles) {
      await fs.rm(path, { force: true });
      warnings.push({ kind: 'temp-removed', path, reason: 'temp file of a write interrupted before its rename' });
    }
    for (const path of scan.strayFiles) {
      const movedTo = await moveToQuarantine(this.dataDir, path);
      warnings.push({ kind: 'quarantined', path, movedTo, reason: 'file name is not a block of this level' });
    }
    for (const path of scan.strayDirs) {
      warnings.push({ kind: 'ignored', path, reason: 'folder is not part of the tmpo layout' });
    }
    await forEachLimited(scan.blocks, this.options.verifyConcurrency ?? 8, async ({ key, path }) => {
      const bytes = await fs.readFile(path);
      try {
        const block = verifyBlock(key, bytes);
        this.bytes += bytes.length;
        if (key.lvl === 8) level8.push({ key, head: block.h.head[0], tail: block.h.tail[0] });
      } catch (err) {
        const movedTo = await moveToQuarantine(this.dataDir, path);
        warnings.push({
          kind: 'quarantined',
          path,
          movedTo,
          reason: `block ${keyText(key)}: ${(err as Error).message}`,
        });
      }
    });
    return warnings;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The decimal names among folder entries, ascending. */
function numbers(list: Dirent[], keep: (e: Dirent) => boolean): number[] {
  const out: number[] = [];
  for (const e of list) {
    const n = keep(e) ? parseDecimal(e.name) : undefined;
    if (n !== undefined) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
