import { Latin1Scratch } from './latin1';
import { BANG, CLOSE, COLON, CR, DOT, LF, MINUS, NUL, OPEN, STAR, ZERO } from './syntax';

/**
 * The line structure of a telegram (docs/protocols/p1.md#telegram-framing): a `/` header
 * line, COSEM object lines `A-B:C.D.E[*F](group)(group)…`, continuation lines starting with
 * `(` (the DSMR 2.2 gas profile puts its value on the next line) and the `!` end line.
 */

export interface CosemObject {
  /** `A-B:C.D.E`; a `*F` suffix is kept only when F is not the default 255 */
  obis: string;
  /** channel B, which numbers the M-Bus devices */
  channel: number;
  /** the text inside each pair of parentheses */
  values: string[];
}

export interface TelegramLines {
  /** the header line without its `/`, or null when there was none */
  header: string | null;
  objects: CosemObject[];
  /** non-empty lines that are neither objects nor continuations */
  junk: string[];
  /** the digits after `!`, null when there is no end line */
  crc: string | null;
}

/**
 * A telegram cut into objects without making strings of them: positions in `text` (and in
 * `bytes`, which holds the same characters). Object k is `obisStart[k]…obisEnd[k]` (the code,
 * `*255` already left out), and its groups are `groupStart[j]…groupEnd[j]` for j from
 * `firstGroup[k]` up to `firstGroup[k + 1]`. Valid until the next scanTelegram call.
 */
export interface TelegramTokens {
  text: string;
  bytes: Uint8Array;
  header: string | null;
  junk: string[];
  crc: string | null;
  /**
   * The FLM's corruption check (docs/protocols/p1.md#crc16) of the telegram from the first `/` to
   * the `!` after it: what is wrong, or null when after the header every line is a COSEM
   * object, a continuation or blank, each ends in CR LF, and `!` starts the last line.
   */
  lineProblem: string | null;
  count: number;
  obisStart: Int32Array;
  obisEnd: Int32Array;
  channel: Int32Array;
  /** codeKey(code).key and .cdeKey of each object */
  key: Int32Array;
  cdeKey: Int32Array;
  /** count + 1 entries */
  firstGroup: Int32Array;
  groupStart: Int32Array;
  groupEnd: Int32Array;
}

/** The groups of `(a)(b*c)`, or null if anything stands between or after them. */
export function splitGroups(text: string): string[] | null {
  const groups: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '(') return null;
    const close = text.indexOf(')', i + 1);
    if (close === -1) return null;
    const inner = text.slice(i + 1, close);
    if (inner.includes('(')) return null;
    groups.push(inner);
    i = close + 1;
  }
  return groups;
}

export function splitTelegram(text: string): TelegramLines {
  const t = scanTelegram(text);
  const objects: CosemObject[] = [];
  for (let k = 0; k < t.count; k++) {
    objects.push({ obis: obisOf(t, k), channel: t.channel[k]!, values: valuesOf(t, k) });
  }
  return { header: t.header, objects, junk: t.junk, crc: t.crc };
}

/** Object k's code as text. */
export const obisOf = (t: TelegramTokens, k: number): string => t.text.slice(t.obisStart[k]!, t.obisEnd[k]!);

/** Object k's groups as text. */
export function valuesOf(t: TelegramTokens, k: number): string[] {
  const values: string[] = [];
  for (let j = t.firstGroup[k]!; j < t.firstGroup[k + 1]!; j++)
    values.push(t.text.slice(t.groupStart[j]!, t.groupEnd[j]!));
  return values;
}

const scratch = new Latin1Scratch();

/** Index arrays are kept for telegrams up to this size (twice the framer's default limit). */
const KEPT_CAPACITY = 16 * 1024 + 2;
let kept = newIndex(1024);

type Index = [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];

/** Room for every object and group of a text: each takes at least two characters. */
function newIndex(capacity: number): Int32Array[] {
  return Array.from({ length: 8 }, () => new Int32Array(capacity));
}

function indexFor(text: string): Int32Array[] {
  const capacity = (text.length >> 1) + 2;
  if (capacity <= kept[0]!.length) return kept;
  if (capacity > KEPT_CAPACITY) return newIndex(capacity);
  kept = newIndex(Math.min(KEPT_CAPACITY, Math.max(capacity, kept[0]!.length * 2)));
  return kept;
}

/**
 * A scan for checkTelegram, kept for the parseTelegram of the same telegram that usually
 * follows (flm-p1 checks, then parses, every telegram): so each telegram is scanned once.
 */
export function scanForCheck(text: string): TelegramTokens {
  const t = scanTelegram(text);
  checkedScan = t;
  return t;
}

/** The tokens of `text` for parseTelegram: the scan checkTelegram just made of it, else a new one. */
export function tokensOf(text: string): TelegramTokens {
  const t = checkedScan;
  if (t === undefined || t.text !== text) return scanTelegram(text);
  checkedScan = undefined;
  return t;
}

/** The scan scanForCheck kept; it goes when used, and when a new scan overwrites its index. */
let checkedScan: TelegramTokens | undefined;

/**
 * One pass over the lines: the header, then objects and continuations, up to the `!` line.
 * Lines lose their trailing CR and any NUL before it; blank lines are skipped; anything else
 * is junk. A continuation adds its groups to the object just before it. The strict line check
 * comes out of the same pass: a line passes when it reads as an object, a continuation or
 * blank with nothing but one CR trimmed from its end.
 *
 * Lines of the usual shape, ending in exactly CR LF, are read in one go; any other line is
 * read again by the general rules, which give the same result for the usual ones.
 */
function scanTelegram(text: string): TelegramTokens {
  checkedScan = undefined;
  const b = scratch.lines(text);
  const length = text.length;
  const slash = text.indexOf('/');
  const bang = slash === -1 ? -1 : text.indexOf('!', slash);
  const [obisStart, obisEnd, channel, key, cdeKey, firstGroup, groupStart, groupEnd] = indexFor(text) as Index;
  const t: TelegramTokens = {
    text,
    bytes: b,
    header: null,
    junk: [],
    crc: null,
    lineProblem: null,
    count: 0,
    obisStart,
    obisEnd,
    channel,
    key,
    cdeKey,
    firstGroup,
    groupStart,
    groupEnd,
  };
  /** lines before this position are held to the strict check */
  let strictUntil = bang;
  if (bang !== -1 && b[bang - 1] !== LF) {
    t.lineProblem = 'the "!" end is not on a line of its own';
    strictUntil = -1;
  }
  let count = 0;
  let groups = 0;
  /** whether a continuation line may add to the latest object */
  let open = false;
  let from = slash === -1 ? 0 : slash;
  for (let n = 0; from <= length; n++) {
    const lineStart = from;
    if (n > 0 || slash === -1) {
      const first = b[lineStart];
      if (first === CR) {
        if (b[lineStart + 1] === LF) {
          from = lineStart + 2;
          continue;
        }
      } else if (first === OPEN ? open : readCode(b, lineStart) && b[code.end] === OPEN) {
        const after = readGroupsToLineEnd(b, first === OPEN ? lineStart : code.end, groupStart, groupEnd, groups);
        if (after >= 0 && b[after] === CR && b[after + 1] === LF) {
          if (first !== OPEN) {
            obisStart[count] = lineStart;
            obisEnd[count] = code.normalEnd;
            channel[count] = code.channel;
            key[count] = code.key;
            cdeKey[count] = code.cdeKey;
            firstGroup[count] = groups;
            count++;
            open = true;
          }
          groups += groupsRead;
          from = after + 2;
          continue;
        }
      }
    }

    let nl = text.indexOf('\n', from);
    if (nl === -1) nl = length;
    let end = nl;
    while (end > from && (b[end - 1] === CR || b[end - 1] === NUL)) end--;
    from = nl + 1;
    if (n === 0 && slash !== -1) {
      t.header = text.slice(lineStart + 1, end);
      continue;
    }
    const strict = lineStart < strictUntil;
    if (end === lineStart) {
      if (strict && !(nl - lineStart === 1 && b[lineStart] === CR)) strictUntil = fail(t, n, b, lineStart, nl);
      continue;
    }
    const first = b[lineStart];
    if (first === BANG) {
      t.crc = text.slice(lineStart + 1, end).trim();
      break;
    }
    let groupsFrom = lineStart;
    if (first !== OPEN) {
      if (!readCode(b, lineStart) || code.end >= end || b[code.end] !== OPEN) {
        t.junk.push(text.slice(lineStart, end));
        open = false;
        if (strict) strictUntil = fail(t, n, b, lineStart, nl);
        continue;
      }
      groupsFrom = code.end;
    }
    const added = readGroups(b, groupsFrom, end, groupStart, groupEnd, groups);
    if (strict && (added < 0 || end !== nl - 1 || b[end] !== CR)) strictUntil = fail(t, n, b, lineStart, nl);
    if (added < 0 || (first === OPEN && !open)) {
      t.junk.push(text.slice(lineStart, end));
      if (first !== OPEN) open = false;
      continue;
    }
    if (first !== OPEN) {
      obisStart[count] = lineStart;
      obisEnd[count] = code.normalEnd;
      channel[count] = code.channel;
      key[count] = code.key;
      cdeKey[count] = code.cdeKey;
      firstGroup[count] = groups;
      count++;
      open = true;
    }
    groups += added;
  }
  firstGroup[count] = groups;
  t.count = count;
  return t;
}

/** Record why line n (`[start, nl)`, header = 0) fails the strict check; no later line is checked. */
function fail(t: TelegramTokens, n: number, b: Uint8Array, start: number, nl: number): number {
  t.lineProblem =
    nl > start && b[nl - 1] === CR ? `line ${n + 1} is not a COSEM object` : `line ${n + 1} does not end in CR LF`;
  return -1;
}

/**
 * The groups `(…)(…)` that make up `[i, end)`, stored from `at`: how many, or -1 when anything
 * stands between or after them or a group holds a `(`.
 */
function readGroups(b: Uint8Array, i: number, end: number, starts: Int32Array, ends: Int32Array, at: number): number {
  let n = 0;
  while (i < end) {
    if (b[i] !== OPEN) return -1;
    const start = ++i;
    let c = b[i]!;
    while (c !== CLOSE && c !== OPEN && i < end) c = b[++i]!;
    if (i === end || b[i] !== CLOSE) return -1;
    starts[at + n] = start;
    ends[at + n] = i;
    n++;
    i++;
  }
  return n;
}

/** How many groups the latest readGroupsToLineEnd stored. */
let groupsRead = 0;

/**
 * The groups `(…)(…)` from `i` (a `(`), up to whatever follows the last one, stored from `at`:
 * the position after the last `)`, or -1 when a group holds a `(` or is not closed on its line.
 * The LF after the text stops the loops.
 */
function readGroupsToLineEnd(b: Uint8Array, i: number, starts: Int32Array, ends: Int32Array, at: number): number {
  let n = 0;
  while (b[i] === OPEN) {
    const start = ++i;
    let c = b[i]!;
    while (c !== CLOSE && c !== OPEN && c !== LF) c = b[++i]!;
    if (c !== CLOSE) return -1;
    starts[at + n] = start;
    ends[at + n] = i;
    n++;
    i++;
  }
  groupsRead = n;
  return i;
}

/** What the latest readCode found; one object, reused for every code of every telegram. */
const code = { end: -1, normalEnd: -1, channel: 0, key: -1, cdeKey: -1 };

/**
 * `A-B:C.D.E` with an optional `*F`, 1 to 3 digits each, from `i`: true when there is one, and
 * then `code` says where it ends, where it ends without a default `*255` (the billing period
 * F that `1-0:1.8.0*255` and `1-0:1.8.0` both mean), its channel B, and the number codeKey
 * gives it. Whatever follows is the caller's business. The LF after the text stops every loop.
 */
function readCode(b: Uint8Array, i: number): boolean {
  let f = readField(b, i);
  if (f < 0 || b[(i += f & 3)] !== MINUS) return false;
  const a = (f & 3) === 1 ? f >> 3 : -1;
  f = readField(b, ++i);
  if (f < 0 || b[(i += f & 3)] !== COLON) return false;
  const channel = f >> 3;
  const ab = a >= 0 && (f & 3) === 1 ? a * 10 + channel : -1;
  f = readField(b, ++i);
  if (f < 0 || b[(i += f & 3)] !== DOT) return false;
  const c = f & 4 && (f & 3) <= 2 ? f >> 3 : -1;
  f = readField(b, ++i);
  if (f < 0 || b[(i += f & 3)] !== DOT) return false;
  const d = f & 4 && (f & 3) <= 2 ? f >> 3 : -1;
  f = readField(b, ++i);
  if (f < 0) return false;
  i += f & 3;
  const e = f & 4 ? f >> 3 : -1;
  let cde = c >= 0 && d >= 0 && e >= 0 ? (c * 100 + d) * 1000 + e : -1;
  let normalEnd = i;
  if (b[i] === STAR) {
    f = readField(b, ++i);
    if (f < 0) return false;
    i += f & 3;
    if (f >> 3 !== 255) {
      normalEnd = i;
      cde = -1;
    }
  }
  code.end = i;
  code.normalEnd = normalEnd;
  code.channel = channel;
  code.cdeKey = cde;
  code.key = ab >= 0 && cde >= 0 ? ab * CDE_KEYS + cde : -1;
  return true;
}

/** cdeKey values are below this. */
const CDE_KEYS = 100 * 100 * 1000;

/**
 * 1 to 3 digits from `i`, packed: value × 8, + 4 when written plainly (no leading 0, or just
 * "0"), + how many digits; -1 when there are none or more than 3. Reads no further than the
 * first byte that is no digit, which the LF after the text guarantees there is.
 */
function readField(b: Uint8Array, i: number): number {
  const d0 = b[i]! - ZERO;
  if (d0 < 0 || d0 > 9) return -1;
  const d1 = b[i + 1]! - ZERO;
  if (d1 < 0 || d1 > 9) return d0 * 8 + 4 + 1;
  const plain = d0 === 0 ? 0 : 4;
  const d2 = b[i + 2]! - ZERO;
  if (d2 < 0 || d2 > 9) return (d0 * 10 + d1) * 8 + plain + 2;
  const d3 = b[i + 3]! - ZERO;
  if (d3 >= 0 && d3 <= 9) return -1;
  return ((d0 * 10 + d1) * 10 + d2) * 8 + plain + 3;
}

/**
 * A number for an OBIS code as it is written, so codes are found with one lookup and no
 * string: equal numbers for equal texts (after `*255` is dropped), and -1 for codes no reader
 * looks for (A or B above 9, C or D above 99, a leading 0, or another billing period F).
 * `cdeKey` numbers the `C.D.E` part alone, for the M-Bus channels. -1 both when `obis` is no code.
 */
export function codeKey(obis: string): { key: number; cdeKey: number } {
  const bytes = Buffer.from(obis + '\n', 'latin1');
  const found = readCode(bytes, 0) && code.end === obis.length;
  return found ? { key: code.key, cdeKey: code.cdeKey } : { key: -1, cdeKey: -1 };
}
