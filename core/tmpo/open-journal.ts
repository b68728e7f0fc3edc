import { rm } from 'node:fs/promises';
import { z } from 'zod';
import { join } from 'node:path';
import { readStateFile, writeStateFile } from '../util/state-file';
import { blockJson, parseBlockJson } from './codec';
import type { TmpoBlock } from './block';
import { blockId, tmpoDir } from './ids';

/**
 * The level-8 blocks still open when the store stops, kept in `<dataDir>/tmpo/open.json` so a
 * restart or redeploy goes on filling them instead of losing them (tmpod kept them in RAM only).
 * Each block is held in its exact TMPO text, so nothing but the codec reads or writes it.
 */
export interface OpenEntry {
  sid: string;
  rid: number;
  /** the block's key; a block holding a late reading may start before it */
  bid: number;
  block: TmpoBlock;
}

const journalSchema = z
  .object({
    version: z.literal(1),
    blocks: z.array(
      z
        .object({
          sid: z.string(),
          rid: z.number().int().min(0),
          bid: z.number().int().min(0).optional(),
          text: z.string(),
        })
        .strict(),
    ),
  })
  .strict();

export const journalPath = (dataDir: string): string => join(tmpoDir(dataDir), 'open.json');

export async function saveOpenJournal(
  dataDir: string,
  entries: OpenEntry[],
  path = journalPath(dataDir),
): Promise<void> {
  await writeStateFile(path, 1, {
    blocks: entries.map((e) => ({ sid: e.sid, rid: e.rid, bid: e.bid, text: blockJson(e.block) })),
  });
}

/** Keep entries that cannot be taken back (a sensor id that is no block name) next to the journal. */
export async function setAsideOpenEntries(dataDir: string, entries: OpenEntry[]): Promise<string> {
  const aside = `${journalPath(dataDir)}.set-aside-${Date.now()}`;
  await saveOpenJournal(dataDir, entries, aside);
  return aside;
}

/**
 * Read the journal. It stays on disk until the next checkpoint or stop replaces it: a kill -9
 * before then must find it again. Blocks it lists that were written meanwhile are placed sample by
 * sample on adoption, so what is already stored is dropped, never doubled. A damaged journal is
 * moved aside with a warning, never deleted.
 */
export async function readOpenJournal(dataDir: string): Promise<{ entries: OpenEntry[]; warning?: string }> {
  const path = journalPath(dataDir);
  const r = await readStateFile(path, (json) =>
    journalSchema.parse(json).blocks.map((b) => {
      const block = parseBlockJson(b.text);
      // journals written before keys were kept: a block then always started in its own window
      return { sid: b.sid, rid: b.rid, bid: b.bid ?? blockId(block.h.head[0], 8), block };
    }),
  );
  if (r.kind === 'missing') return { entries: [] };
  if (r.kind === 'damaged')
    return { entries: [], warning: `open TMPO blocks in ${path} were unreadable (${r.reason}); moved to ${r.aside}` };
  return { entries: r.value };
}

/** No open blocks left: nothing for the next start to take over. */
export async function clearOpenJournal(dataDir: string): Promise<void> {
  await rm(journalPath(dataDir), { force: true });
}
