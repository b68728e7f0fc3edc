import { TmpoFormatError, type TmpoBlock } from './block';
import { decodeBlock } from './codec';
import { blockEnd, keyText, type BlockKey } from './ids';

/**
 * How far before its window a block may start. A reading that arrives after its own window was
 * written goes to the next free window, at most the horizon (capped at a week) after its time.
 */
export const MAX_LEAD_SECONDS = 2 ** 20;

/**
 * Decode a block and check that it belongs where it is filed: every sample before the end of its
 * window [bid, bid + 2^lvl), none more than MAX_LEAD_SECONDS before it. The FLM writes a level-8
 * block from the samples' own times, a parent's window holds its children's; a late reading may
 * start a block early. Anything else is a misplaced or damaged file. Throws TmpoFormatError.
 */
export function verifyBlock(key: BlockKey, bytes: Uint8Array): TmpoBlock {
  const block = decodeBlock(bytes);
  const first = block.h.head[0];
  const last = block.h.tail[0];
  if (first < key.bid - MAX_LEAD_SECONDS || last >= blockEnd(key.lvl, key.bid)) {
    throw new TmpoFormatError(`samples ${first}..${last} lie outside the window of block ${keyText(key)}`);
  }
  return block;
}
