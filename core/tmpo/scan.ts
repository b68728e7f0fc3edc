import { promises as fs, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { LEVELS, isBlockId, isSid, sensorDir, type BlockKey, type Level } from './ids';

/** What a walk of `<dataDir>/tmpo/sensor` found. */
export interface ScanResult {
  blocks: Array<{ key: BlockKey; path: string }>;
  /** files left by a write that never reached its rename (writeFileAtomic's temp names) */
  tempFiles: string[];
  /** files where a block belongs but whose name is not a block id of that level */
  strayFiles: string[];
  /** folders that are not part of the layout; left alone */
  strayDirs: string[];
}

/** writeFileAtomic writes `.<name>.<8 hex>.tmp` beside the target. */
const isTempName = (name: string): boolean => /^\..+\.[0-9a-f]{8}\.tmp$/.test(name);

/** Parse a rid or bid folder/file name: plain decimal, as the FLM's tostring writes it. */
export function parseDecimal(name: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(name)) return undefined;
  const n = Number(name);
  return Number.isSafeInteger(n) ? n : undefined;
}

export async function scanStore(dataDir: string): Promise<ScanResult> {
  const result: ScanResult = { blocks: [], tempFiles: [], strayFiles: [], strayDirs: [] };
  const root = sensorDir(dataDir);
  for (const sidEntry of await entries(root)) {
    const sidPath = join(root, sidEntry.name);
    if (!sidEntry.isDirectory() || !isSid(sidEntry.name)) {
      (sidEntry.isDirectory() ? result.strayDirs : result.strayFiles).push(sidPath);
      continue;
    }
    for (const ridEntry of await entries(sidPath)) {
      const ridPath = join(sidPath, ridEntry.name);
      const rid = parseDecimal(ridEntry.name);
      if (!ridEntry.isDirectory() || rid === undefined) {
        (ridEntry.isDirectory() ? result.strayDirs : result.strayFiles).push(ridPath);
        continue;
      }
      for (const lvlEntry of await entries(ridPath)) {
        const lvlPath = join(ridPath, lvlEntry.name);
        const lvl = LEVELS.find((l) => String(l) === lvlEntry.name);
        if (!lvlEntry.isDirectory() || lvl === undefined) {
          (lvlEntry.isDirectory() ? result.strayDirs : result.strayFiles).push(lvlPath);
          continue;
        }
        await scanLevel(lvlPath, sidEntry.name, rid, lvl, result);
      }
    }
  }
  return result;
}

async function scanLevel(dir: string, sid: string, rid: number, lvl: Level, result: ScanResult): Promise<void> {
  for (const entry of await entries(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      result.strayDirs.push(path);
    } else if (isTempName(entry.name)) {
      result.tempFiles.push(path);
    } else {
      const bid = parseDecimal(entry.name);
      if (bid !== undefined && isBlockId(lvl, bid)) result.blocks.push({ key: { sid, rid, lvl, bid }, path });
      else result.strayFiles.push(path);
    }
  }
}

/** Folder entries, or none when the folder does not exist. */
export async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw err;
  }
}
