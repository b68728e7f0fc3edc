import { TmpoFormatError, type TmpoBlock } from './block';
import { decodeBlock } from './codec';
import { blockEnd, keyText, type BlockKey } from './ids';

/**
 * Decode a block and check that it belongs where it is filed: every sample inside the window
 * [bid, bid + 2^lvl). The FLM only ever writes such blocks (a level-8 block is chosen from the
 * sample's own time, a parent's window holds its children's), so anything else is a misplaced or
 * damaged file. Throws TmpoFormatError.
 */
export function verifyBlock(key: BlockKey, bytes: Uint8Array): TmpoBlock {
  const block = decodeBlock(bytes);
  const first = block.h.head[0];
  const last = block.h.tail[0];
  if (first < key.bid || last >= blockEnd(key.lvl, key.bid)) {
    throw new TmpoFormatError(`samples ${first}..${last} lie outside the window of block ${keyText(key)}`);
  }
  return block;
}
