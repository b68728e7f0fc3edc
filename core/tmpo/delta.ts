import { TMPO_FORMAT_VERSION, type SensorCfg, type TmpoBlock, type TmpoHeader } from './block';

/**
 * A value delta as the FLM stores it (docs/protocols/tmpo.md#value-deltas): whole deltas unchanged,
 * any other delta plus 0.0005 and then cut down to a multiple of 0.001 (half-up to 3 decimals).
 *
 * The arithmetic is Lua 5.1's on IEEE doubles, reproduced operation by operation (its `a % b` is
 * `a - floor(a/b)*b`), so that the rare delta whose float result lands a hair off a multiple of
 * 0.001 comes out exactly as on the FLM; printing with %.14g then hides the last-bit noise.
 */
export function roundDelta(delta: number): number {
  if (Math.floor(delta) === delta) return delta;
  const shifted = delta + 0.0005;
  return shifted - luaMod(shifted, 0.001);
}

const luaMod = (a: number, b: number): number => a - Math.floor(a / b) * b;

/**
 * A block being filled sample by sample: the one place where samples become deltas, used by the
 * level-8 builder and by encodeSeries alike.
 *
 * Each value delta is taken from the previous *raw* value (the header's tail, which keeps the raw
 * value), not from the previous reconstructed one: that is what tmpod's push8 does
 * (docs/protocols/tmpo.md#value-deltas: each sample's value minus the previous value, with `tail`
 * holding the sample as received). So the rounding of one delta is not carried into the next one,
 * but a reader that sums the rounded deltas (tmpo-py, tmpo-js) drifts by up to 0.0005 per sample
 * on values with more than 3 decimals. Values that have at most 3 decimals, which is all an FLM
 * counter produces, reconstruct exactly up to float noise.
 */
export class OpenBlock {
  private readonly header: TmpoHeader;
  private readonly t: number[] = [0];
  private readonly v: number[] = [0];

  constructor(time: number, value: number, cfg: SensorCfg) {
    assertSample(time, value);
    // A copy, so that a caller changing its config object later cannot rewrite an open block.
    this.header = { head: [time, value], tail: [time, value], vsn: TMPO_FORMAT_VERSION, cfg: structuredClone(cfg) };
  }

  /** Go on filling a block that was open before a restart: its raw tail value carries on. */
  static fromBlock(block: TmpoBlock): OpenBlock {
    const b = new OpenBlock(block.h.head[0], block.h.head[1], block.h.cfg ?? {});
    const h = b.header;
    h.tail = [block.h.tail[0], block.h.tail[1]];
    if (block.h.vsn === undefined) delete h.vsn;
    else h.vsn = block.h.vsn;
    if (block.h.cfg === undefined) delete h.cfg;
    b.t.splice(0, 1, ...block.t);
    b.v.splice(0, 1, ...block.v);
    return b;
  }

  get headTime(): number {
    return this.header.head[0];
  }

  get tailTime(): number {
    return this.header.tail[0];
  }

  get size(): number {
    return this.t.length;
  }

  /** Add a sample; false (and nothing changed) unless its time is after the block's tail. */
  append(time: number, value: number): boolean {
    assertSample(time, value);
    const [tailTime, tailValue] = this.header.tail;
    if (time <= tailTime) return false;
    this.t.push(time - tailTime);
    this.v.push(roundDelta(value - tailValue));
    this.header.tail = [time, value];
    return true;
  }

  /**
   * Put a sample in front of the head; false (and nothing changed) unless its time is before it.
   * The old head's raw value is in the header, so its delta is taken from it as append does.
   */
  prepend(time: number, value: number): boolean {
    assertSample(time, value);
    const [headTime, headValue] = this.header.head;
    if (time >= headTime) return false;
    this.t.splice(1, 0, headTime - time);
    this.v.splice(1, 0, roundDelta(headValue - value));
    this.header.head = [time, value];
    return true;
  }

  /** A snapshot: later appends do not change it. */
  toBlock(): TmpoBlock {
    const h = this.header;
    return { h: { ...h, head: [...h.head], tail: [...h.tail] }, t: this.t.slice(), v: this.v.slice() };
  }
}

function assertSample(time: number, value: number): void {
  if (!Number.isSafeInteger(time) || time < 0)
    throw new RangeError(`TMPO time must be whole Unix seconds, got ${time}`);
  if (!Number.isFinite(value)) throw new RangeError(`TMPO value must be a finite number, got ${value}`);
}
