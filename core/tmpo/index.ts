/** TMPO: the FLM's block format, level-8 builder, compaction and on-disk store (flm-firmware.md §4). */
export { TMPO_FORMAT_VERSION, TmpoFormatError } from './block';
export type { Sample, SensorCfg, Series, TmpoBlock, TmpoHeader } from './block';
export {
  blockJson,
  blockJsonChunks,
  blockToSeries,
  decodeBlock,
  decodeSeries,
  encodeBlock,
  encodeBlockStreaming,
  encodeSeries,
  parseBlockJson,
  seriesToBlock,
} from './codec';
export { OpenBlock, roundDelta } from './delta';
export { formatLuaNumber } from './lua-number';
export { luaJson } from './lua-json';
export {
  LEVELS,
  assertBlockKey,
  blockEnd,
  blockId,
  blockPath,
  blockTail,
  childIds,
  childLevel,
  compareKeys,
  isBlockId,
  isLevel,
  isRid,
  isSid,
  keyText,
  lastChildId,
  parentId,
  parentLevel,
  parentWindowPast,
  quarantineDir,
  sensorDir,
  span,
  tmpoDir,
} from './ids';
export type { BlockKey, Level } from './ids';
export { FlushClock, pickGraceSeconds } from './flush-clock';
export { Block8Builder, Block8Pool } from './builder';
export { DEFAULT_HORIZON_SECONDS } from './builder';
export type { BuilderCounters, BuilderOptions, FinishedBlock, Frontier, PoolOptions, PushContext, PushOutcome, Span } from './builder';
export { readFrontiers } from './frontier';
export { mergeBlocks } from './merge';
export { compact, siblingGroups } from './compact';
export type { CompactionEvent, CompactionReport } from './compact';
export { verifyBlock } from './verify';
export { TmpoStore } from './store';
export type { OpenedStore, PutResult, StoreWarning, TmpoStoreOptions } from './store';
