import { promises as fs } from 'node:fs';
import type { TmpoReader } from '../api/blocks';
import type { TmpoDirReader } from '../api/store-reader';
import type { TmpoBlock } from '../tmpo/block';
import { decodeBlock } from '../tmpo/codec';
import type { BlockKey } from '../tmpo/ids';

/**
 * The dashboard's view of the TMPO store: decoded blocks are kept, newest use last, up to a
 * budget of samples, because decoding (gunzip and JSON) is most of a series request's time and a
 * page asks for the same blocks again on every zoom level, range and minute's refresh. A block
 * file is taken again when its size or modification time changed (a late reading merged into it)
 * and dropped when it is gone (compaction moved it into its parent). Read-only, like
 * TmpoDirReader: nothing in the store is touched.
 */
const DEFAULT_CACHE_SAMPLES = 3_000_000;

interface Kept {
  size: number;
  mtimeMs: number;
  block: TmpoBlock;
}

export class CachedBlockReader implements TmpoReader {
  private readonly kept = new Map<string, Kept>();
  private samples = 0;

  constructor(
    private readonly store: TmpoDirReader,
    /** about 16 bytes each: 3 million is some 48 MB, a year of minutes of 5 sensors */
    private readonly maxSamples = DEFAULT_CACHE_SAMPLES,
  ) {}

  list(filter?: { sid?: string; rid?: number }): Promise<BlockKey[]> {
    return this.store.list(filter);
  }

  read(key: BlockKey): Promise<Buffer | undefined> {
    return this.store.read(key);
  }

  async readBlock(key: BlockKey): Promise<TmpoBlock | undefined> {
    const path = this.store.path(key);
    let stat: { size: number; mtimeMs: number };
    try {
      stat = await fs.stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.forget(path);
      return undefined;
    }
    const hit = this.kept.get(path);
    if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) {
      // Map order is use order: take it out and put it back last.
      this.kept.delete(path);
      this.kept.set(path, hit);
      return hit.block;
    }
    this.forget(path);
    const bytes = await this.store.read(key);
    if (!bytes) return undefined;
    const block = decodeBlock(bytes);
    // The stat from before the read: a file replaced meanwhile differs from it next time, and is read again.
    this.keep(path, { size: stat.size, mtimeMs: stat.mtimeMs, block });
    return block;
  }

  /** Samples held now (for tests and the node's status). */
  get size(): number {
    return this.samples;
  }

  private keep(path: string, k: Kept): void {
    const n = k.block.t.length;
    if (n > this.maxSamples) return;
    this.kept.set(path, k);
    this.samples += n;
    for (const [oldest] of this.kept) {
      if (this.samples <= this.maxSamples) break;
      this.forget(oldest);
    }
  }

  private forget(path: string): void {
    const k = this.kept.get(path);
    if (!k) return;
    this.kept.delete(path);
    this.samples -= k.block.t.length;
  }
}
