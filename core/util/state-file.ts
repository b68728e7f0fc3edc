import { promises as fs } from 'node:fs';
import { readFileIfExists, writeFileAtomic } from './atomic-file';

/**
 * Small JSON state files that say which format they are in: `{"version":N,...}` on one line,
 * replaced atomically (temp, fsync, rename, folder fsync). A file that cannot be read is never
 * deleted or overwritten: it is moved (or copied) aside to `<name>.damaged-<ms>` so a person
 * can still recover what it held, and the caller starts from what it can rebuild.
 */

/** The text of a state file: its version first, then `body`'s fields, one line. */
function stateFileText(version: number, body: object): string {
  return JSON.stringify({ version, ...body }) + '\n';
}

/** Replace the state file at `path` atomically. */
export function writeStateFile(path: string, version: number, body: object): Promise<void> {
  return writeFileAtomic(path, stateFileText(version, body));
}

export type StateRead<T> =
  | { kind: 'missing' }
  | { kind: 'read'; value: T; text: string }
  /** unreadable: moved to `aside` */
  | { kind: 'damaged'; aside: string; reason: string };

/**
 * Read the state file at `path` through `parse` (which throws on anything it does not take,
 * version included). An unreadable file is moved aside.
 */
export async function readStateFile<T>(path: string, parse: (json: unknown) => T): Promise<StateRead<T>> {
  const text = await readFileIfExists(path);
  if (text === undefined) return { kind: 'missing' };
  try {
    return { kind: 'read', value: parse(JSON.parse(text)), text };
  } catch (err) {
    return { kind: 'damaged', aside: await moveAside(path), reason: (err as Error).message };
  }
}

/** Where a damaged state file goes. */
function asidePath(path: string): string {
  return `${path}.damaged-${Date.now()}`;
}

/** Move a damaged state file aside; returns where it went. */
async function moveAside(path: string): Promise<string> {
  const aside = asidePath(path);
  await fs.rename(path, aside);
  return aside;
}

/** Keep a copy of a state file's `text` aside (the next save will drop part of it); returns where. */
export async function copyAside(path: string, text: string): Promise<string> {
  const aside = asidePath(path);
  await writeFileAtomic(aside, text);
  return aside;
}
