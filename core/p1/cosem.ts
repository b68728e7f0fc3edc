import { Latin1Scratch } from './latin1';
import { CLOSE, CR, isDigit, LF, NUL, OPEN, STAR, ZERO, obisCodeEnd } from './syntax';

/**
 * The line structure of a telegram (ecosystem.md §E.4, flm-firmware.md §6.4): a `/` header
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
  count: number;
  obisStart: Int32Array;
  obisEnd: Int32Array;
  channel: Int32Array;
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
  for (let j = t.firstGroup[k]!; j < t.firstGroup[k + 1]!; j++) values.push(t.text.slice(t.groupStart[j]!, t.groupEnd[j]!));
  return values;
}

const scratch = new Latin1Scratch();
/** Reused between calls, grown as needed: a telegram a second should not allocate its index. */
let objectArrays = newArrays(64);
let groupArrays = newArrays(128);

function newArrays(n: number): [Int32Array, Int32Array, Int32Array, Int32Array] {
  return [new Int32Array(n), new Int32Array(n), new Int32Array(n), new Int32Array(n + 1)];
}

function grow(arrays: [Int32Array, Int32Array, Int32Array, Int32Array]): [Int32Array, Int32Array, Int32Array, Int32Array] {
  const bigger = newArrays(arrays[0].length * 2);
  for (let i = 0; i < 4; i++) bigger[i]!.set(arrays[i]!);
  return bigger;
}

/**
 * One pass over the lines: the header, then objects and continuations, up to the `!` line.
 * Lines lose their trailing CR and any NUL before it; blank lines are skipped; anything else
 * is junk. A continuation adds its groups to the object just before it.
 */
export function scanTelegram(text: string): TelegramTokens {
  const b = scratch.structure(text);
  const slash = text.indexOf('/');
  const t: TelegramTokens = {
    text, bytes: b, header: null, junk: [], crc: null, count: 0,
    obisStart: objectArrays[0], obisEnd: objectArrays[1], channel: objectArrays[2], firstGroup: objectArrays[3],
    groupStart: groupArrays[0], groupEnd: groupArrays[1],
  };
  let groups = 0;
  /** whether a continuation line may add to the latest object */
  let open = false;
  let from = slash === -1 ? 0 : slash;
  for (let n = 0; from <= text.length; n++) {
    let nl = text.indexOf('\n', from);
    if (nl === -1) nl = text.length;
    let end = nl;
    while (end > from && (b[end - 1] === CR || b[end - 1] === NUL)) end--;
    const lineStart = from;
    from = nl + 1;
    if (n === 0 && slash !== -1) {
      t.header = text.slice(lineStart + 1, end);
      continue;
    }
    if (end === lineStart) continue;
    const first = b[lineStart];
    if (first === 0x21) {
      t.crc = text.slice(lineStart + 1, end).trim();
      break;
    }
    let groupsFrom = lineStart;
    let obisEnd = -1;
    if (first !== OPEN) {
      obisEnd = obisCodeEnd(b, lineStart);
      if (obisEnd < 0 || obisEnd >= end || b[obisEnd] !== OPEN) {
        t.junk.push(text.slice(lineStart, end));
        open = false;
        continue;
      }
      groupsFrom = obisEnd;
    }
    // Make sure this line's groups fit before reading them; a line holds at most one per two bytes.
    while (groups + (end - groupsFrom) / 2 + 1 > t.groupStart.length) {
      groupArrays = grow(groupArrays);
      [t.groupStart, t.groupEnd] = groupArrays;
    }
    const added = readGroups(b, groupsFrom, end, t.groupStart, t.groupEnd, groups);
    if (added < 0 || (first === OPEN && !open)) {
      t.junk.push(text.slice(lineStart, end));
      if (first !== OPEN) open = false;
      continue;
    }
    if (first !== OPEN) {
      if (t.count + 1 >= t.obisStart.length) {
        objectArrays = grow(objectArrays);
        [t.obisStart, t.obisEnd, t.channel, t.firstGroup] = objectArrays;
      }
      t.obisStart[t.count] = lineStart;
      t.obisEnd[t.count] = isDefaultBillingPeriod(b, obisEnd) ? obisEnd - 4 : obisEnd;
      t.channel[t.count] = channelOf(b, lineStart);
      t.firstGroup[t.count] = groups;
      t.count++;
      open = true;
    }
    groups += added;
    t.firstGroup[t.count] = groups;
  }
  t.firstGroup[t.count] = groups;
  return t;
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
    while (i < end && b[i] !== CLOSE && b[i] !== OPEN) i++;
    if (i === end || b[i] !== CLOSE) return -1;
    starts[at + n] = start;
    ends[at + n] = i;
    n++;
    i++;
  }
  return n;
}

/** `*255` is the default billing period (F), so `1-0:1.8.0*255` is `1-0:1.8.0`. */
const isDefaultBillingPeriod = (b: Uint8Array, end: number): boolean =>
  b[end - 4] === STAR && b[end - 3] === 0x32 && b[end - 2] === 0x35 && b[end - 1] === 0x35;

/** B of `A-B:…`, which obisCodeEnd has checked is 1 to 3 digits after A's 1 to 3 and `-`. */
function channelOf(b: Uint8Array, i: number): number {
  while (isDigit(b[i])) i++;
  let channel = 0;
  for (i++; isDigit(b[i]); i++) channel = channel * 10 + b[i]! - ZERO;
  return channel;
}
