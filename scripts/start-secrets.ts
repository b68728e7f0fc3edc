/**
 * Secrets at rest for `npm start`: every file Node-RED or the pipeline writes is created for its
 * owner only, and secret files an older version left readable are closed at start.
 */
import { join } from 'node:path';
import { IDENTITY_FILE } from '../core/config/identity';
import { keepPrivate } from '../core/util/private-file';
import { ADMIN_PASSWORD_FILE } from './start-auth';

/**
 * Node-RED's files that hold secrets: the flow credentials, the runtime config with the
 * secret that encrypts them, the editor's login sessions, and the backups it keeps of each.
 */
export const NODE_RED_SECRET_FILES = [
  'flows_cred.json',
  '.flows_cred.json.backup',
  '.config.runtime.json',
  '.config.runtime.json.backup',
  '.sessions.json',
];
/** The pipeline's own: the device identity (its key signs uploads) and the editor password. */
export const DATA_SECRET_FILES = [IDENTITY_FILE, ADMIN_PASSWORD_FILE];

/**
 * A umask of 077 for the whole process: Node-RED writes flows_cred.json and
 * .config.runtime.json anew (temp file, rename) on every deploy and settings change, so they
 * are private from their first byte without chasing each write. Call before anything writes.
 */
export function privateByDefault(): void {
  process.umask(0o077);
}

/** Close the secret files that exist with looser modes; returns the ones changed. */
export async function closeSecretFiles(userDir: string, dataDir: string): Promise<string[]> {
  const paths = [
    ...NODE_RED_SECRET_FILES.map((f) => join(userDir, f)),
    ...DATA_SECRET_FILES.map((f) => join(dataDir, f)),
  ];
  const changed: string[] = [];
  for (const p of paths) if (await keepPrivate(p)) changed.push(p);
  return changed;
}
