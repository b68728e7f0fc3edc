import {
  TMPO_FORMAT_VERSION,
  TmpoFormatError,
  type Sample,
  type SensorCfg,
  type TmpoBlock,
  type TmpoHeader,
} from './block';

/**
 * Read a block's JSON text, accepting exactly what the FLM tools accept.
 *
 * Like tmpo-py (`^\{"h":(\{.+?\}),"t":(\[.+?\]),"v":(\[.+?\])\}$`) and tmpod's compactor, we
 * split the text at the top-level boundaries rather than trusting any JSON with keys h, t, v: a
 * block with another key order or whitespace between the members would parse as JSON here but
 * not in those readers, so it is refused. Inside `h` any key order is fine (the FLM writes Lua's
 * hash order), `vsn` and `cfg` may be missing (the first tmpod wrote neither), and numbers may be
 * any JSON number (compaction gaps are printed unrounded).
 */
export function parseBlockJson(text: string): TmpoBlock {
  if (!text.startsWith('{"h":{') || !text.endsWith(']}')) {
    throw new TmpoFormatError('block must be {"h":{...},"t":[...],"v":[...]} with no whitespace between members');
  }
  // tmpo-py's `.` stops at a newline, so a block containing one would not match there.
  if (text.includes('\n')) throw new TmpoFormatError('block contains a newline');
  const vAt = text.lastIndexOf(',"v":[');
  const tAt = vAt < 0 ? -1 : text.lastIndexOf('},"t":[', vAt);
  if (tAt < 0 || text[vAt - 1] !== ']') throw new TmpoFormatError('block members are not in the order h, t, v');

  const h = parseHeader(parseJson(text.slice(5, tAt + 1), 'h'));
  const t = parseNumbers(parseJson(text.slice(tAt + 6, vAt), 't'), 't');
  const v = parseNumbers(parseJson(text.slice(vAt + 5, -1), 'v'), 'v');
  checkDeltas(h, t, v);
  return { h, t, v };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new TmpoFormatError(`block member ${what} is not valid JSON`);
  }
}

function parseHeader(raw: unknown): TmpoHeader {
  if (!isPlainObject(raw)) throw new TmpoFormatError('h must be an object');
  const head = parseSample(raw['head'], 'head');
  const tail = parseSample(raw['tail'], 'tail');
  const h: TmpoHeader = { head, tail };
  if (raw['vsn'] !== undefined) {
    if (raw['vsn'] !== TMPO_FORMAT_VERSION)
      throw new TmpoFormatError(`unsupported block version ${JSON.stringify(raw['vsn'])}`);
    h.vsn = TMPO_FORMAT_VERSION;
  }
  if (raw['cfg'] !== undefined) h.cfg = parseCfg(raw['cfg']);
  return h;
}

function parseSample(raw: unknown, what: string): Sample {
  if (!Array.isArray(raw) || raw.length !== 2 || !isFiniteNumber(raw[0]) || !isFiniteNumber(raw[1])) {
    throw new TmpoFormatError(`h.${what} must be [time,value]`);
  }
  if (!Number.isSafeInteger(raw[0]) || raw[0] < 0)
    throw new TmpoFormatError(`h.${what} time must be whole Unix seconds`);
  return [raw[0], raw[1]];
}

function parseCfg(raw: unknown): SensorCfg {
  if (isPlainObject(raw)) return raw;
  // luci.json writes an empty Lua table as [], so an empty cfg may come as an array.
  if (Array.isArray(raw) && raw.length === 0) return {};
  throw new TmpoFormatError('h.cfg must be an object');
}

function parseNumbers(raw: unknown, what: string): number[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new TmpoFormatError(`${what} must be a non-empty array`);
  for (const x of raw) {
    if (!isFiniteNumber(x)) throw new TmpoFormatError(`${what} must hold only finite numbers`);
  }
  return raw as number[];
}

/** The deltas must rebuild the header: times step forward by whole seconds and end at the tail. */
function checkDeltas(h: TmpoHeader, t: number[], v: number[]): void {
  if (t.length !== v.length) throw new TmpoFormatError(`t has ${t.length} entries but v has ${v.length}`);
  if (t[0] !== 0 || v[0] !== 0) throw new TmpoFormatError('t and v must start with 0');
  let time = h.head[0];
  for (let i = 1; i < t.length; i++) {
    const dt = t[i]!;
    if (!Number.isSafeInteger(dt) || dt <= 0)
      throw new TmpoFormatError(`t[${i}] must be a whole number of seconds > 0`);
    time += dt;
  }
  if (time !== h.tail[0])
    throw new TmpoFormatError(`head time plus t deltas is ${time}, but tail time is ${h.tail[0]}`);
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
