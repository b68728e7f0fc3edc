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

const OBIS_CODE = /^\d{1,3}-(\d{1,3}):\d{1,3}\.\d{1,3}\.\d{1,3}(?:\*\d{1,3})?$/;

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
  const result: TelegramLines = { header: null, objects: [], junk: [], crc: null };
  const slash = text.indexOf('/');
  const body = slash === -1 ? text : text.slice(slash);
  const lines = body.split('\n');
  let last: CosemObject | undefined;
  for (let n = 0; n < lines.length; n++) {
    const line = trimLineEnd(lines[n]!);
    if (n === 0 && slash !== -1) {
      result.header = line.slice(1);
      continue;
    }
    if (line === '') continue;
    if (line[0] === '!') {
      result.crc = line.slice(1).trim();
      break;
    }
    if (line[0] === '(') {
      const groups = splitGroups(line);
      if (groups && last) last.values.push(...groups);
      else result.junk.push(line);
      continue;
    }
    const paren = line.indexOf('(');
    const code = paren === -1 ? null : OBIS_CODE.exec(line.slice(0, paren));
    const groups = code ? splitGroups(line.slice(paren)) : null;
    if (!code || !groups) {
      result.junk.push(line);
      last = undefined;
      continue;
    }
    last = { obis: normalizeObis(code[0]), channel: Number(code[1]), values: groups };
    result.objects.push(last);
  }
  return result;
}

/** `*255` is the default billing period (F), so `1-0:1.8.0*255` is `1-0:1.8.0`. */
function normalizeObis(code: string): string {
  return code.endsWith('*255') ? code.slice(0, -4) : code;
}

/** CR, and the NUL some meters put before it, are not part of the line. */
function trimLineEnd(line: string): string {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x0d || line.charCodeAt(end - 1) === 0x00)) end--;
  return end === line.length ? line : line.slice(0, end);
}
