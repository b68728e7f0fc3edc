import { promises as fs } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { quarantineDir, sensorDir } from './ids';
import { fsyncDir } from '../util/atomic-file';

let sequence = 0;

/**
 * Move a damaged or unexpected file out of the block tree into
 * `<dataDir>/tmpo/quarantine/<same relative path>.<time>-<n>`, keeping its bytes for a person to
 * look at. The FLM deletes such files (`gzip -t` at start); we never delete what we cannot read.
 * Returns where the file went.
 */
export async function moveToQuarantine(dataDir: string, path: string): Promise<string> {
  const rel = relative(sensorDir(dataDir), path);
  const inside = rel && !rel.startsWith('..') ? rel : relative(dataDir, path);
  const target = join(quarantineDir(dataDir), `${inside}.${Date.now()}-${sequence++}`);
  await fs.mkdir(dirname(target), { recursive: true });
  await fs.rename(path, target);
  // Both folders changed: make the move itself survive a power cut.
  await fsyncDir(dirname(target));
  await fsyncDir(dirname(path));
  return target;
}
