import { fletcher16 } from './fletcher';

/**
 * FLM03 sensor-board framing (docs/protocols/sensor-board.md#flm03-frames): `0xAA 0xAA type len
 * payload sum2 sum1`, Fletcher-16 over type, len and payload.
 */

const FLM03_SYNC = 0xaa;
/** sync, sync, type, len */
const FLM03_HEADER_BYTES = 4;
const FLM03_CHECK_BYTES = 2;
/** the length field is one byte */
const FLM03_MAX_PAYLOAD = 255;

export interface Flm03Frame {
  type: number;
  /** a copy: it stays valid after later pushes */
  payload: Uint8Array;
  /** stream position of the frame's first sync byte, counted from the first byte pushed */
  offset: number;
}

/** A whole frame, ready for the wire. */
export function encodeFlm03Frame(type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(type) || type < 0 || type > 0xff)
    throw new RangeError(`FLM03 frame type ${type} is not a byte`);
  if (payload.length > FLM03_MAX_PAYLOAD) {
    throw new RangeError(`FLM03 payload of ${payload.length} bytes exceeds the ${FLM03_MAX_PAYLOAD}-byte length field`);
  }
  const frame = new Uint8Array(FLM03_HEADER_BYTES + payload.length + FLM03_CHECK_BYTES);
  frame[0] = FLM03_SYNC;
  frame[1] = FLM03_SYNC;
  frame[2] = type;
  frame[3] = payload.length;
  frame.set(payload, FLM03_HEADER_BYTES);
  const check = fletcher16(frame, 2, FLM03_HEADER_BYTES + payload.length);
  frame[FLM03_HEADER_BYTES + payload.length] = check >>> 8;
  frame[FLM03_HEADER_BYTES + payload.length + 1] = check & 0xff;
  return frame;
}

export interface Flm03FramerOptions {
  /**
   * Longest payload accepted; a header announcing more is taken for noise at once instead of
   * holding back the bytes behind it until that many have arrived. Default 255 (no limit).
   */
  maxPayload?: number;
}

export interface Flm03FramerStats {
  bytesIn: number;
  frames: number;
  /** candidate frames whose checksum did not match (noise that happened to hold two 0xAA counts too) */
  badChecksum: number;
  /** headers announcing more than maxPayload bytes */
  oversize: number;
  /** bytes that ended up in no frame */
  garbageBytes: number;
}

/**
 * Cuts a byte stream into checksum-valid frames.
 *
 * A candidate that fails (bad checksum, oversize length) gives up only its first byte, and the
 * search resumes right behind it: a damaged length byte must not swallow the good frames after
 * it, so the stream can never lose step. A good frame is consumed whole: its payload is not
 * searched for frames. Memory is bounded by one longest frame plus one working chunk.
 */
export class Flm03Framer {
  readonly maxPayload: number;
  private readonly buf: Uint8Array;
  /** unconsumed bytes are buf[head, tail) */
  private head = 0;
  private tail = 0;
  /** stream offset of buf[0] */
  private base = 0;
  private readonly counters: Flm03FramerStats = { bytesIn: 0, frames: 0, badChecksum: 0, oversize: 0, garbageBytes: 0 };

  constructor(options: Flm03FramerOptions = {}) {
    const max = options.maxPayload ?? FLM03_MAX_PAYLOAD;
    if (!Number.isInteger(max) || max < 0 || max > FLM03_MAX_PAYLOAD) {
      throw new RangeError(`maxPayload must be an integer 0..${FLM03_MAX_PAYLOAD}`);
    }
    this.maxPayload = max;
    // Twice the longest frame: a pending candidate plus room to take in more bytes before
    // compacting, so compaction copies at most one frame's worth.
    this.buf = new Uint8Array(Math.max(1024, 2 * (FLM03_HEADER_BYTES + max + FLM03_CHECK_BYTES)));
  }

  get stats(): Readonly<Flm03FramerStats> {
    return { ...this.counters };
  }

  /** Bytes held while waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.tail - this.head;
  }

  push(chunk: Uint8Array): Flm03Frame[] {
    const out: Flm03Frame[] = [];
    this.counters.bytesIn += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      if (this.tail === this.buf.length) this.compact();
      const n = Math.min(chunk.length - i, this.buf.length - this.tail);
      this.buf.set(chunk.subarray(i, i + n), this.tail);
      this.tail += n;
      i += n;
      this.scan(out);
    }
    return out;
  }

  /** Forget buffered bytes, e.g. after the port was reopened; they count as garbage. */
  reset(): void {
    this.counters.garbageBytes += this.tail - this.head;
    this.base += this.tail;
    this.head = 0;
    this.tail = 0;
  }

  private compact(): void {
    // Only called with a full buffer, and scan() leaves at most one frame pending, which is
    // less than half of it: there is always room after this.
    this.buf.copyWithin(0, this.head, this.tail);
    this.base += this.head;
    this.tail -= this.head;
    this.head = 0;
  }

  private scan(out: Flm03Frame[]): void {
    const buf = this.buf;
    for (;;) {
      const start = this.head;
      const sync = buf.indexOf(FLM03_SYNC, start);
      if (sync < 0 || sync >= this.tail) {
        this.skip(this.tail - start);
        return;
      }
      this.skip(sync - start);
      if (this.tail - sync < FLM03_HEADER_BYTES) {
        if (this.tail - sync >= 2 && buf[sync + 1] !== FLM03_SYNC) this.skip(1);
        else return;
        continue;
      }
      if (buf[sync + 1] !== FLM03_SYNC) {
        this.skip(1);
        continue;
      }
      const len = buf[sync + 3]!;
      if (len > this.maxPayload) {
        this.counters.oversize++;
        this.skip(1);
        continue;
      }
      const end = sync + FLM03_HEADER_BYTES + len;
      if (this.tail < end + FLM03_CHECK_BYTES) return;
      const check = fletcher16(buf, sync + 2, end);
      if (buf[end] !== check >>> 8 || buf[end + 1] !== (check & 0xff)) {
        this.counters.badChecksum++;
        this.skip(1);
        continue;
      }
      out.push({ type: buf[sync + 2]!, payload: buf.slice(sync + FLM03_HEADER_BYTES, end), offset: this.base + sync });
      this.counters.frames++;
      this.head = end + FLM03_CHECK_BYTES;
    }
  }

  private skip(n: number): void {
    this.head += n;
    this.counters.garbageBytes += n;
  }
}
