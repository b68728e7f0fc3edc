import { crc32OfText } from '../util/checksum';

const SPAN8 = 256;

/**
 * When level-8 blocks are closed (docs/protocols/tmpo.md#flushing-level-8-blocks, tmpod `flush8`).
 * The clock remembers the next window boundary `close8`; once `now >= close8 + grace` every block
 * that starts before `close8` is final, and `close8` moves to the boundary after `now`. The grace
 * lets samples stamped just before a boundary arrive before their block is written.
 */
export class FlushClock {
  private close8: number | undefined;
  private closed: number | undefined;

  constructor(readonly graceSeconds: number) {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds >= SPAN8) {
      throw new RangeError(`grace must be whole seconds in 0..255, got ${graceSeconds}`);
    }
  }

  /**
   * Call once per tick (the FLM ticks every second). Returns the boundary when a flush is due,
   * meaning blocks with bid < boundary must be written now, else undefined. `force` is tmpod's
   * `flush` command: it pretends `now + 256 + grace`, which also closes the current window.
   */
  tick(now: number, force = false): number | undefined {
    const time = force ? now + SPAN8 + this.graceSeconds : now;
    // From the real time, so that a forced flush on the very first tick still closes the current
    // window (tmpod would set close8 from the pretended time and flush nothing).
    this.close8 ??= ceilToSpan(now);
    if (time < this.close8 + this.graceSeconds) return undefined;
    const boundary = this.close8;
    this.close8 = ceilToSpan(time);
    this.closed = Math.max(this.closed ?? boundary, boundary);
    return boundary;
  }

  /** Every level-8 block with bid below this has been flushed; undefined before the first flush. */
  get closedBefore(): number | undefined {
    return this.closed;
  }

  /** tmpod holds back the next flush while a compaction runs: close8 = ceil(now/256 + 0.5) * 256. */
  postpone(now: number): void {
    this.close8 = Math.ceil(now / SPAN8 + 0.5) * SPAN8;
  }
}

const ceilToSpan = (t: number): number => Math.ceil(t / SPAN8) * SPAN8;

/**
 * A per-process grace of 4..19 s (tmpod: 2^2 + floor(random * 2^4)) so that many devices do not
 * publish on the same second; derived from crc32(device id + time) so it is reproducible in tests.
 */
export function pickGraceSeconds(deviceId: string, now: number): number {
  return 4 + (crc32OfText(`${deviceId}${now}`) % 16);
}
