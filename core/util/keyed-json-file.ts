import { readFileIfExists, writeFileAtomic } from './atomic-file';

/**
 * A JSON object file holding one entry per key (a device id: several devices may share a data
 * dir). A missing or unreadable file reads as empty: what it remembers can always be rebuilt.
 */
export async function readKeyedJson<T>(path: string): Promise<Record<string, T>> {
  const text = await readFileIfExists(path);
  if (text === undefined) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, T>) : {};
  } catch {
    return {};
  }
}

/** Replace one key's entry, keeping the others; written atomically. */
export async function writeKeyedEntry<T>(path: string, key: string, entry: T): Promise<void> {
  const all = await readKeyedJson<T>(path);
  all[key] = entry;
  await writeFileAtomic(path, `${JSON.stringify(all, null, 1)}\n`);
}
