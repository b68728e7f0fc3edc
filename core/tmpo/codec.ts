import { constants, createGzip, gunzipSync, gzipSync, type ZlibOptions } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TmpoFormatError, type SensorCfg, type Series, type TmpoBlock, type TmpoHeader } from './block';
import { OpenBlock } from './delta';
import { luaJson } from './lua-json';
import { formatLuaNumber } from './lua-number';
import { parseBlockJson } from './parse';

/**
 * The one TMPO codec: series <-> block <-> JSON text <-> gzip bytes
 * (docs/protocols/tmpo.md#block-format). Everything that writes or reads a block (builder,
 * compaction, store, node, CLI) goes through here, so there is a single definition of the format.
 */

// tmpod opens block files with gzopen mode "w9f": level 9, filtered strategy. Readers accept any
// level; 9 is kept for parity and the smallest files, though on a large, repetitive block (a
// level-20 counter) it costs about ten times the CPU of level 6 for some 10 % fewer bytes.
const GZIP_OPTIONS: ZlibOptions = { level: 9, strategy: constants.Z_FILTERED };
const GZIP_MAGIC = [0x1f, 0x8b];
const NUMBERS_PER_CHUNK = 8192;

/** Build the block for a series: strictly increasing whole-second times, finite values. */
export function seriesToBlock(series: Series, cfg: SensorCfg): TmpoBlock {
  const { times, values } = series;
  if (times.length !== values.length)
    throw new RangeError(`series has ${times.length} times but ${values.length} values`);
  if (times.length === 0) throw new RangeError('a TMPO block needs at least one sample');
  const open = new OpenBlock(times[0]!, values[0]!, cfg);
  for (let i = 1; i < times.length; i++) {
    if (!open.append(times[i]!, values[i]!)) {
      throw new RangeError(`series times must increase strictly: ${times[i]} follows ${times[i - 1]}`);
    }
  }
  return open.toBlock();
}

/**
 * The block's JSON text in pieces: `{"h":{...},"t":[...],"v":[...]}` with exactly that top-level
 * order and no whitespace, which both the FLM's compactor and tmpo-py match with regexes. Inside
 * `h` we write head, tail, vsn, cfg (the FLM's order there is Lua's hash order and not relied on).
 */
function* blockJsonChunks(block: TmpoBlock): Generator<string> {
  yield `{"h":${headerJson(block.h)},"t":[`;
  yield* numberListChunks(block.t);
  yield '],"v":[';
  yield* numberListChunks(block.v);
  yield ']}';
}

export function blockJson(block: TmpoBlock): string {
  return Array.from(blockJsonChunks(block)).join('');
}

function headerJson(h: TmpoHeader): string {
  const pair = (s: readonly number[]): string => `[${formatLuaNumber(s[0]!)},${formatLuaNumber(s[1]!)}]`;
  let out = `{"head":${pair(h.head)},"tail":${pair(h.tail)}`;
  if (h.vsn !== undefined) out += `,"vsn":${formatLuaNumber(h.vsn)}`;
  if (h.cfg !== undefined) out += `,"cfg":${luaJson(h.cfg)}`;
  return `${out}}`;
}

function* numberListChunks(numbers: readonly number[]): Generator<string> {
  for (let start = 0; start < numbers.length; start += NUMBERS_PER_CHUNK) {
    const end = Math.min(start + NUMBERS_PER_CHUNK, numbers.length);
    const texts = new Array<string>(end - start);
    for (let i = start; i < end; i++) texts[i - start] = formatLuaNumber(numbers[i]!);
    yield (start === 0 ? '' : ',') + texts.join(',');
  }
}

/** Gzip bytes of a block, in one go (level-8 blocks are small). */
export function encodeBlock(block: TmpoBlock): Buffer {
  return gzipSync(blockJson(block), GZIP_OPTIONS);
}

/** Same bytes as encodeBlock, without holding the whole JSON text: for large compacted blocks. */
export async function encodeBlockStreaming(block: TmpoBlock): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(blockJsonChunks(block), { objectMode: false }),
    createGzip(GZIP_OPTIONS),
    async (gz: AsyncIterable<Buffer>) => {
      for await (const chunk of gz) out.push(chunk);
    },
  );
  return Buffer.concat(out);
}

export function encodeSeries(series: Series, cfg: SensorCfg): Buffer {
  return encodeBlock(seriesToBlock(series, cfg));
}

/** Gunzip and check a block; throws TmpoFormatError on anything an FLM reader would choke on. */
export function decodeBlock(bytes: Uint8Array): TmpoBlock {
  if (bytes.length < 2 || bytes[0] !== GZIP_MAGIC[0] || bytes[1] !== GZIP_MAGIC[1]) {
    throw new TmpoFormatError('not a gzip stream (missing 1f 8b magic)');
  }
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch (err) {
    throw new TmpoFormatError(`gzip stream is damaged: ${(err as Error).message}`);
  }
  return parseBlockJson(text);
}

/**
 * Absolute samples, rebuilt as tmpo-py does: a running sum seeded with the head, one addition per
 * sample in order (so float results match tmpo-py's bit for bit).
 */
export function blockToSeries(block: TmpoBlock): Series {
  const n = block.t.length;
  const times = new Array<number>(n);
  const values = new Array<number>(n);
  let time = block.h.head[0];
  let value = block.h.head[1];
  for (let i = 0; i < n; i++) {
    time += block.t[i]!;
    value += block.v[i]!;
    times[i] = time;
    values[i] = value;
  }
  return { times, values };
}

export function decodeSeries(bytes: Uint8Array): Series {
  return blockToSeries(decodeBlock(bytes));
}

export { parseBlockJson };
