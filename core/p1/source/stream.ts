import { P1Framer, DEFAULT_MAX_TELEGRAM_BYTES } from '../framer';
import { checkTelegram, type CheckResult, type CrcMode, type CrcVariant } from '../check';
import { parseTelegram } from '../parse';
import type { MeterZone } from '../time';
import { decryptSmartyFrame, type SmartyKeys } from '../smarty';
import { SmartyFramer } from '../smarty-framer';
import { formatCrc } from '../crc16';
import type { P1Telegram } from '../types';
import { RateLimiter } from '../../link/rate-limit';

/**
 * Bytes in, checked and parsed telegrams out, whatever carried the bytes: a serial port, a TCP
 * dongle, or MQTT messages. Frames (or, with a Smarty key, finds and decrypts encrypted frames),
 * checks the CRC, parses, counts what went wrong, and rate-limits the error text. Nothing here
 * throws on bad input: every problem becomes an event and a counter.
 */

export interface P1StreamOptions {
  /** CRC mode (default strict) */
  mode?: CrcMode;
  /** CRC variant (default arc) */
  variant?: CrcVariant;
  /** the meter's time zone, for its timestamps (default Europe/Brussels) */
  zone?: MeterZone;
  /** Luxembourg Smarty: frames are AES-128-GCM encrypted with this key */
  smarty?: SmartyKeys;
  /** keep only the newest telegram of each chunk or message (default true): a backlog is stale */
  latestOnly?: boolean;
  maxTelegramBytes?: number;
  /** at most one report per kind of error per interval (default 60 s) */
  errorIntervalMs?: number;
  /** clock for the rate limiter */
  now?: () => number;
}

export type P1ErrorKind =
  /** the CRC does not match, or a DSMR 4+ telegram lacks one */
  | 'crc'
  /** not a telegram one can read */
  | 'unparsable'
  /** a Smarty frame that does not decrypt with the key */
  | 'decrypt';

export interface P1TelegramEvent {
  type: 'telegram';
  telegram: P1Telegram;
  check: CheckResult;
  /** the telegram text, `/` through the CRC and CR LF (latin1, one character per byte) */
  raw: string;
  /** warn mode let a flawed telegram through: the rate-limited text to log, or null to stay quiet */
  warning?: string | null;
}

export interface P1ErrorEvent {
  type: 'error';
  kind: P1ErrorKind;
  /** what went wrong, always set */
  message: string;
  /** the rate-limited text to log now, or null while held back */
  report: string | null;
  check?: CheckResult;
  raw?: string;
}

export type P1StreamEvent = P1TelegramEvent | P1ErrorEvent;

export interface P1StreamStats {
  /** telegrams passed on */
  good: number;
  /** telegrams whose CRC did not match or was missing (rejected in strict mode, passed on in warn mode) */
  badCrc: number;
  /** telegrams (or messages) that could not be read */
  unparsable: number;
  /** Smarty frames that did not decrypt */
  decryptFailed: number;
  /** telegrams or Smarty frames cut from the input */
  frames: number;
  /** bytes that were part of no telegram */
  garbageBytes: number;
  /** complete telegrams skipped because a newer one came in the same chunk */
  backlogDropped: number;
}

const HEX32 = /^[0-9A-Fa-f]{32}$/;

export class P1Stream {
  readonly mode: CrcMode;
  readonly variant: CrcVariant;
  readonly latestOnly: boolean;
  private readonly smarty?: SmartyKeys;
  private readonly zone?: MeterZone;
  private readonly maxTelegramBytes: number;
  private framer: P1Framer;
  private smartyFramer: SmartyFramer;
  private readonly limiter: RateLimiter;
  private readonly counts = { good: 0, badCrc: 0, unparsable: 0, decryptFailed: 0 };
  /** what finished framers contributed (one-off framers for whole messages, replaced ones) */
  private readonly past = { frames: 0, garbageBytes: 0, backlogDropped: 0 };

  constructor(options: P1StreamOptions = {}) {
    this.mode = options.mode ?? 'strict';
    this.variant = options.variant ?? 'arc';
    this.latestOnly = options.latestOnly ?? true;
    this.maxTelegramBytes = options.maxTelegramBytes ?? DEFAULT_MAX_TELEGRAM_BYTES;
    if (options.zone) this.zone = options.zone;
    if (options.smarty) {
      const { key, authKey } = options.smarty;
      if (!HEX32.test(key.trim()))
        throw new Error('Smarty key must be 32 hex characters (16 bytes), as the grid operator gives it');
      if (typeof authKey === 'string' && !HEX32.test(authKey.trim()))
        throw new Error('Smarty authentication key must be 32 hex characters (16 bytes)');
      this.smarty = options.smarty;
    }
    this.framer = this.newFramer();
    this.smartyFramer = new SmartyFramer(this.maxTelegramBytes + 64);
    this.limiter = new RateLimiter(options.errorIntervalMs ?? 60_000, options.now ?? Date.now);
  }

  get encrypted(): boolean {
    return this.smarty !== undefined;
  }

  get stats(): P1StreamStats {
    const f = this.framer.stats;
    const s = this.smartyFramer.stats;
    return {
      ...this.counts,
      frames: this.past.frames + f.frames + s.frames,
      garbageBytes: this.past.garbageBytes + f.garbageBytes + s.garbageBytes,
      backlogDropped: this.past.backlogDropped + f.backlogDropped,
    };
  }

  /** Bytes from a stream (serial, TCP): telegrams may span chunks. */
  push(chunk: Uint8Array | string): P1StreamEvent[] {
    if (this.smarty) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      return this.frames(this.smartyFramer.push(bytes));
    }
    return this.telegrams(this.framer.push(chunk));
  }

  /** The stream ended (connection closed): a last telegram missing only its CR LF still counts. */
  end(): P1StreamEvent[] {
    if (this.smarty) {
      this.smartyFramer.reset();
      return [];
    }
    return this.telegrams(this.framer.end());
  }

  /** Forget a partial telegram, e.g. after reconnecting; counters are kept. */
  reset(): void {
    this.framer.reset();
    this.smartyFramer.reset();
  }

  /**
   * One complete message holding one or more telegrams (an MQTT payload, a file): nothing is
   * carried over to the next message. Text whose line ends lost their CRs (copied by hand) gets
   * them back. With a Smarty key, a string of hex digits is read as the frame's bytes.
   */
  pushMessage(payload: Uint8Array | string): P1StreamEvent[] {
    if (this.smarty) {
      let bytes: Uint8Array;
      if (typeof payload !== 'string') bytes = payload;
      else {
        const hex = payload.replace(/\s+/g, '');
        bytes =
          hex.length % 2 === 0 && /^[0-9A-Fa-f]+$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.from(payload, 'latin1');
      }
      const framer = new SmartyFramer(this.maxTelegramBytes + 64);
      const frames = framer.push(bytes);
      this.past.frames += framer.stats.frames;
      this.past.garbageBytes += framer.stats.garbageBytes + framer.bufferedBytes;
      if (frames.length === 0)
        return [this.fail('unparsable', 'no Smarty frame in the message (a frame starts with byte 0xDB)')];
      return this.frames(frames);
    }
    let text =
      typeof payload === 'string'
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
    if (!text.includes('\r')) text = text.replace(/\n/g, '\r\n');
    const framer = this.newFramer();
    const found = framer.push(text);
    found.push(...framer.end());
    const st = framer.stats;
    this.past.frames += st.frames;
    this.past.garbageBytes += st.garbageBytes;
    this.past.backlogDropped += st.backlogDropped;
    if (found.length === 0) return [this.fail('unparsable', 'no telegram in the message (a "/" … "!CRC" block)')];
    if (this.latestOnly && found.length > 1) {
      this.past.backlogDropped += found.length - 1;
      return this.telegrams(found.slice(-1));
    }
    return this.telegrams(found);
  }

  private newFramer(): P1Framer {
    return new P1Framer({ maxTelegramBytes: this.maxTelegramBytes, latestOnly: this.latestOnly });
  }

  private frames(frames: Buffer[]): P1StreamEvent[] {
    if (this.latestOnly && frames.length > 1) {
      this.past.backlogDropped += frames.length - 1;
      frames = frames.slice(-1);
    }
    const out: P1StreamEvent[] = [];
    for (const frame of frames) {
      let plain: string;
      try {
        plain = decryptSmartyFrame(frame, this.smarty!);
      } catch (err) {
        out.push(this.fail('decrypt', err instanceof Error ? err.message : String(err)));
        continue;
      }
      // The plaintext is one telegram; it may lack the CR LF after its CRC.
      const framer = new P1Framer({ maxTelegramBytes: this.maxTelegramBytes });
      const texts = framer.push(plain);
      texts.push(...framer.end());
      if (texts.length === 0) out.push(this.fail('unparsable', 'the decrypted Smarty frame holds no telegram'));
      else out.push(...this.telegrams(texts.slice(-1)));
    }
    return out;
  }

  private telegrams(texts: string[]): P1StreamEvent[] {
    return texts.map((raw) => this.one(raw));
  }

  private one(raw: string): P1StreamEvent {
    const check = checkTelegram(raw, { mode: this.mode, variant: this.variant });
    const crcProblem = check.status === 'mismatch' || check.status === 'missing-crc';
    if (!check.accepted) {
      return this.fail(crcProblem ? 'crc' : 'unparsable', `telegram rejected: ${describeCheck(check)}`, { check, raw });
    }
    const telegram = parseTelegram(raw, this.zone ? { zone: this.zone } : {});
    if (this.mode === 'off' && isEmptyTelegram(telegram)) {
      return this.fail('unparsable', 'telegram rejected: no COSEM object could be read', { check, raw });
    }
    this.counts.good++;
    const event: P1TelegramEvent = { type: 'telegram', telegram, check, raw };
    if (check.message) {
      if (crcProblem) this.counts.badCrc++;
      event.warning = this.limiter.take(
        crcProblem ? 'warn:crc' : 'warn:malformed',
        `telegram passed on (CRC mode warn): ${describeCheck(check)}`,
      );
    }
    return event;
  }

  private fail(kind: P1ErrorKind, message: string, extra: { check?: CheckResult; raw?: string } = {}): P1ErrorEvent {
    if (kind === 'crc') this.counts.badCrc++;
    else if (kind === 'unparsable') this.counts.unparsable++;
    else this.counts.decryptFailed++;
    return { type: 'error', kind, message, report: this.limiter.take(kind, message), ...extra };
  }
}

/** A check result in words, naming both CRCs on a mismatch. */
function describeCheck(check: CheckResult): string {
  if (check.status === 'mismatch' && check.expected !== undefined && check.computed !== undefined) {
    return `bad CRC: expected ${formatCrc(check.expected)} (carried by the telegram), computed ${formatCrc(check.computed)}`;
  }
  return check.message ?? check.status;
}

/** Nothing at all was read: no time, no id, no register, no M-Bus device, no unknown object. */
function isEmptyTelegram(t: P1Telegram): boolean {
  const e = t.electricity;
  const empty = (o: object | undefined) => !o || Object.keys(o).length === 0;
  return (
    t.timestamp === null &&
    !t.p1Version &&
    !t.equipmentId &&
    t.mbus.length === 0 &&
    empty(t.unknown) &&
    empty(e.delivered) &&
    empty(e.returned) &&
    empty(e.power) &&
    empty(e.phases) &&
    Object.keys(e).every((k) => ['delivered', 'returned', 'power', 'phases'].includes(k))
  );
}
