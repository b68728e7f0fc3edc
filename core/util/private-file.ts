import { promises as fs } from 'node:fs';

/**
 * Take group and other access away from an existing file that holds a secret (one written by
 * an older version, by hand, or by a program with a loose umask). Returns whether it changed;
 * a missing file is not an error.
 */
export async function keepPrivate(path: string): Promise<boolean> {
  let mode: number;
  try {
    mode = (await fs.stat(path)).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if ((mode & 0o077) === 0) return false;
  await fs.chmod(path, mode & 0o700);
  return true;
}
