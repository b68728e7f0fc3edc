import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { blockPath, compareKeys, sensorDir, type BlockKey } from '../tmpo/ids';
import { scanStore } from '../tmpo/scan';
import type { TmpoReader } from './blocks';

/**
 * A TMPO store read without touching it, for looking at a data dir (or a copy of an FLM's
 * /usr/share/tmpo) from the command line. TmpoStore.open would verify every block and move bad
 * ones to quarantine; a tool that only looks must not move anything.
 */
export class TmpoDirReader implements TmpoReader {
  private constructor(readonly dataDir: string) {}

  /**
   * `dir` is a data dir holding `tmpo/sensor/`, or a folder named `tmpo` holding `sensor/` (the
   * FLM's layout); anything else is an error naming what was expected.
   */
  static async open(dir: string): Promise<TmpoDirReader> {
    for (const dataDir of basename(dir) === 'tmpo' ? [dir, dirname(dir)] : [dir]) {
      if (await isDir(sensorDir(dataDir))) return new TmpoDirReader(dataDir);
    }
    throw new Error(
      `no TMPO store in ${dir}: expected ${join(dir, 'tmpo', 'sensor')} (a data dir) or a folder named tmpo holding sensor/`,
    );
  }

  async list(filter: { sid?: string; rid?: number } = {}): Promise<BlockKey[]> {
    const { blocks } = await scanStore(this.dataDir);
    return blocks
      .map((b) => b.key)
      .filter(
        (k) => (filter.sid === undefined || k.sid === filter.sid) && (filter.rid === undefined || k.rid === filter.rid),
      )
      .sort(compareKeys);
  }

  async read(key: BlockKey): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  path(key: BlockKey): string {
    return blockPath(this.dataDir, key);
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}
