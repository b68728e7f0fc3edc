/**
 * Cuts a P1 byte stream into telegrams: `/` … `!` [0–4 hex digits] [NUL] CR LF
 * (docs/protocols/p1.md#telegram-framing). Serial ports and TCP dongles deliver arbitrary chunks,
 * start in the middle of a telegram, lose bytes on slow hosts and append gateway trailers, so the
 * framer resynchronises on its own and never holds more than about two telegrams' worth of bytes.
 */

export const DEFAULT_MAX_TELEGRAM_BYTES = 16 * 1024;

export interface P1FramerOptions {
  /** Longest telegram accepted, `/` through LF; longer ones are counted as oversize and dropped. */
  maxTelegramBytes?: number;
  /** Return only the newest complete telegram of each push: a backlog is stale by definition. */
  latestOnly?: boolean;
}

export interface P1FramerStats {
  /** telegrams returned */
  frames: number;
  /** bytes that ended up in no telegram: noise, trailers, cut-off and oversize telegrams */
  garbageBytes: number;
  /** telegrams longer than maxTelegramBytes */
  oversize: number;
  /** telegrams abandoned because a new one started before their end marker */
  truncated: number;
  /** end markers not followed by hex digits and CR LF */
  malformed: number;
  /** complete telegrams skipped by latestOnly */
  backlogDropped: number;
}

const SLASH = 0x2f;
const BANG = 0x21;
const CR = 0x0d;
const LF = 0x0a;
const NUL = 0x00;

const isHexDigit = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
const isLetter = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

type EndMatch = { kind: 'complete'; crcEnd: number; next: number } | { kind: 'incomplete' } | { kind: 'malformed' };

/**
 * Telegrams come out as latin1 strings, one character per byte, from `/` through the CRC
 * digits followed by CR LF; a NUL the meter put before CR LF is left out.
 */
export class P1Framer {
  readonly maxTelegramBytes: number;
  readonly latestOnly: boolean;
  private buf: Buffer;
  /** unconsumed bytes are buf[head, tail) */
  private head = 0;
  private tail = 0;
  private inTelegram = false;
  /** after an oversize telegram: drop bytes until a `/` begins a line */
  private skipping = false;
  private atLineStart = false;
  /** resume points, so bytes arriving one at a time are not rescanned from the start */
  private bangScan = 0;
  private slashScan = 0;
  private headerScan = 0;
  private headerEnd = -1;
  private readonly counters: P1FramerStats = {
    frames: 0,
    garbageBytes: 0,
    oversize: 0,
    truncated: 0,
    malformed: 0,
    backlogDropped: 0,
  };

  constructor(options: P1FramerOptions = {}) {
    this.maxTelegramBytes = Math.max(64, Math.floor(options.maxTelegramBytes ?? DEFAULT_MAX_TELEGRAM_BYTES));
    this.latestOnly = options.latestOnly ?? false;
    this.buf = Buffer.allocUnsafe(4096);
  }

  get stats(): Readonly<P1FramerStats> {
    return { ...this.counters };
  }

  /** Bytes held while waiting for the rest of a telegram. */
  get bufferedBytes(): number {
    return this.tail - this.head;
  }

  /** Feed a chunk; returns every telegram it completed (only the last one with latestOnly). */
  push(chunk: Uint8Array | string): string[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    const out: string[] = [];
    // Large chunks go in telegram-sized slices so the buffer stays bounded whatever the caller sends.
    const step = this.maxTelegramBytes;
    for (let off = 0; off < bytes.length; off += step) {
      this.append(bytes.subarray(off, Math.min(bytes.length, off + step)));
      this.scan(out);
    }
    return this.pick(out);
  }

  /**
   * End of input (a closed connection, or a whole message): a last telegram that stops right
   * after its CRC digits, without CR LF, is returned; anything else pending is discarded.
   */
  end(): string[] {
    const out: string[] = [];
    if (this.inTelegram) {
      const v = this.buf.subarray(0, this.tail);
      const bang = v.indexOf(BANG, this.bangScan);
      if (bang !== -1) {
        let j = bang + 1;
        while (j < this.tail && j - bang <= 4 && isHexDigit(v[j]!)) j++;
        const rest = v.toString('latin1', j, this.tail);
        // Only the line end may be missing; the counted-as-garbage remainder is at most "\0\r".
        if (rest === '' || rest === '\r' || rest === '\0' || rest === '\0\r') {
          this.emit(v.toString('latin1', this.head, j) + '\r\n', j - this.head, out);
        }
      }
    }
    this.counters.garbageBytes += this.tail - this.head;
    this.reset();
    return this.pick(out);
  }

  /** Forget any partial telegram (e.g. after reconnecting); counters are kept. */
  reset(): void {
    this.head = this.tail = 0;
    this.inTelegram = this.skipping = this.atLineStart = false;
  }

  private pick(out: string[]): string[] {
    if (!this.latestOnly || out.length <= 1) return out;
    this.counters.backlogDropped += out.length - 1;
    return [out[out.length - 1]!];
  }

  private append(bytes: Uint8Array): void {
    if (this.tail + bytes.length > this.buf.length) {
      this.buf.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.shift(this.head);
      this.head = 0;
      if (this.tail + bytes.length > this.buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.tail + bytes.length));
        this.buf.copy(grown, 0, 0, this.tail);
        this.buf = grown;
      }
    }
    this.buf.set(bytes, this.tail);
    this.tail += bytes.length;
  }

  /** Move the resume points along with the bytes when the buffer is compacted. */
  private shift(by: number): void {
    this.bangScan -= by;
    this.slashScan -= by;
    this.headerScan -= by;
    if (this.headerEnd >= 0) this.headerEnd -= by;
  }

  private beginAt(i: number): void {
    this.head = i;
    this.inTelegram = true;
    this.bangScan = this.slashScan = this.headerScan = i + 1;
    this.headerEnd = -1;
  }

  private drop(to: number): void {
    this.counters.garbageBytes += to - this.head;
    this.head = to;
  }

  private scan(out: string[]): void {
    const v = this.buf.subarray(0, this.tail);
    for (;;) {
      if (this.skipping && !this.skipToLineStartSlash(v)) return;
      if (!this.inTelegram) {
        const i = v.indexOf(SLASH, this.head);
        if (i === -1) {
          this.drop(this.tail);
          return;
        }
        this.drop(i);
        this.beginAt(i);
      }
      if (!this.advanceTelegram(v, out)) return;
    }
  }

  /** True once a line-initial `/` is at `head`; false when the input ran out first. */
  private skipToLineStartSlash(v: Buffer): boolean {
    while (this.head < this.tail) {
      if (this.atLineStart && v[this.head] === SLASH) {
        this.skipping = false;
        return true;
      }
      const nl = v.indexOf(LF, this.head);
      if (nl === -1) {
        this.atLineStart = false;
        this.drop(this.tail);
        return false;
      }
      this.drop(nl + 1);
      this.atLineStart = true;
    }
    return false;
  }

  /** Work on the telegram at `head`; true to keep scanning, false when more input is needed. */
  private advanceTelegram(v: Buffer, out: string[]): boolean {
    const bang = v.indexOf(BANG, this.bangScan);
    const limit = bang === -1 ? this.tail : bang;
    if (this.headerEnd === -1) {
      const nl = v.indexOf(LF, this.headerScan);
      if (nl !== -1) this.headerEnd = nl;
      else this.headerScan = this.tail;
    }
    for (let s = v.indexOf(SLASH, this.slashScan); s !== -1 && s < limit; s = v.indexOf(SLASH, s + 1)) {
      if (this.startsNewTelegram(v, s)) {
        this.counters.truncated++;
        this.drop(s);
        this.beginAt(s);
        return true;
      }
    }
    this.slashScan = limit;
    if (bang === -1) {
      this.bangScan = this.tail;
      return this.checkSize();
    }
    this.bangScan = bang;
    const m = matchEnd(v, bang, this.tail);
    if (m.kind === 'incomplete') return this.checkSize();
    this.inTelegram = false;
    if (m.kind === 'malformed') {
      this.counters.malformed++;
      this.drop(bang + 1);
      return true;
    }
    if (m.next - this.head > this.maxTelegramBytes) {
      this.counters.oversize++;
      this.drop(m.next);
      return true;
    }
    // One piece of text straight from the bytes: "…" + "\r\n" would make a two-part string that
    // every later read of the telegram steps through. A NUL before CR LF is dropped by writing
    // the line end over it, in bytes that are consumed now.
    if (m.next - m.crcEnd !== 2) {
      v[m.crcEnd] = CR;
      v[m.crcEnd + 1] = LF;
    }
    this.emit(v.toString('latin1', this.head, m.crcEnd + 2), m.next - this.head, out);
    return true;
  }

  private emit(telegram: string, consumed: number, out: string[]): void {
    this.counters.frames++;
    this.head += consumed;
    this.inTelegram = false;
    out.push(telegram);
  }

  /**
   * A `/` past the first line cannot belong to the telegram (values are hex or digits), so the
   * one before was cut off. On the first line it is part of the header only when that already
   * looks like one, as in Holley's `/HLY5/D545-METER`; noise like `x/` then `/ISK5` restarts.
   */
  private startsNewTelegram(v: Buffer, s: number): boolean {
    if (this.headerEnd !== -1 && s > this.headerEnd) return true;
    const h = this.head;
    return !(s - h >= 5 && isLetter(v[h + 1]!) && isLetter(v[h + 2]!) && isLetter(v[h + 3]!) && isDigit(v[h + 4]!));
  }

  private checkSize(): boolean {
    if (this.tail - this.head <= this.maxTelegramBytes) return false;
    this.counters.oversize++;
    this.drop(this.tail);
    this.inTelegram = false;
    this.skipping = true;
    this.atLineStart = false;
    return false;
  }
}

/** What follows the `!` at `bang`: up to four hex digits, an optional NUL, then CR LF. */
function matchEnd(v: Buffer, bang: number, end: number): EndMatch {
  let j = bang + 1;
  while (j < end && j - bang <= 4 && isHexDigit(v[j]!)) j++;
  const crcEnd = j;
  if (j === end) return { kind: 'incomplete' };
  if (v[j] === NUL && ++j === end) return { kind: 'incomplete' };
  if (v[j] !== CR) return { kind: 'malformed' };
  if (++j === end) return { kind: 'incomplete' };
  if (v[j] !== LF) return { kind: 'malformed' };
  return { kind: 'complete', crcEnd, next: j + 1 };
}

/**
 * Telegrams in one complete piece of text, e.g. an MQTT message from a P1 dongle or a file.
 * Copies made by hand often lost their CRs; when the text has no CR at all, LF is read as
 * CR LF, which gives back the bytes the CRC was computed over.
 */
export function extractTelegrams(input: Uint8Array | string, options: P1FramerOptions = {}): string[] {
  let text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  if (!text.includes('\r')) text = text.replace(/\n/g, '\r\n');
  const framer = new P1Framer({ ...options, latestOnly: false });
  const out = framer.push(text);
  out.push(...framer.end());
  return options.latestOnly && out.length > 1 ? [out[out.length - 1]!] : out;
}
