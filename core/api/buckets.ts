/**
 * Equal time buckets over a series fed sample by sample in time order, one block at a time, so a
 * month of 1 Hz data never has to sit in memory at once.
 *
 * Bucket k is [start + k·R, start + (k+1)·R). For a counter, the value at each bucket edge is
 * interpolated linearly between the samples either side of it (the energy between two readings
 * is spread evenly over the time between them); an edge before the first sample or after the last
 * has no value. From the edges come the average power (Δcounter / R × factor), the increase and
 * the counter itself; for a gauge series, the plain mean of the samples inside the bucket.
 */
export class Buckets {
  /** counter at edge k = start + k·R, NaN when unknown */
  private readonly edge: Float64Array;
  private readonly sum: Float64Array;
  private readonly count: Uint32Array;
  private nextEdge = 0;
  private prevT: number | undefined;
  private prevV = 0;
  private readonly end: number;

  constructor(
    readonly start: number,
    readonly resolution: number,
    readonly buckets: number,
    /** an edge between two samples further apart than this stays unknown (a gap in the data) */
    private readonly maxGap = Infinity,
  ) {
    if (!Number.isSafeInteger(buckets) || buckets < 0)
      throw new RangeError(`bucket count must be a whole number, got ${buckets}`);
    if (!(resolution > 0)) throw new RangeError(`resolution must be positive, got ${resolution}`);
    this.edge = new Float64Array(buckets + 1).fill(NaN);
    this.sum = new Float64Array(buckets);
    this.count = new Uint32Array(buckets);
    this.end = start + buckets * resolution;
  }

  /** Take the next sample; one not after the previous is ignored. */
  add(t: number, v: number): void {
    if (this.prevT !== undefined && t <= this.prevT) return;
    for (; this.nextEdge <= this.buckets; this.nextEdge++) {
      const e = this.start + this.nextEdge * this.resolution;
      if (e > t) break;
      if (e === t) this.edge[this.nextEdge] = v;
      else if (this.prevT !== undefined && t - this.prevT <= this.maxGap)
        this.edge[this.nextEdge] = this.prevV + ((v - this.prevV) * (e - this.prevT)) / (t - this.prevT);
    }
    if (t >= this.start && t < this.end) {
      const k = Math.floor((t - this.start) / this.resolution);
      this.sum[k]! += v;
      this.count[k]!++;
    }
    this.prevT = t;
    this.prevV = v;
  }

  /** Whether every edge and bucket is settled, so later samples change nothing. */
  get complete(): boolean {
    return this.prevT !== undefined && this.prevT >= this.end;
  }

  /** The counter at the end of bucket k. */
  counterAt(k: number): number {
    return this.edge[k + 1]!;
  }

  /** The counter's increase over bucket k. */
  increase(k: number): number {
    return this.edge[k + 1]! - this.edge[k]!;
  }

  /** Increase per second over bucket k. */
  rate(k: number): number {
    return this.increase(k) / this.resolution;
  }

  /** Mean of the samples inside bucket k. */
  mean(k: number): number {
    return this.count[k] ? this.sum[k]! / this.count[k]! : NaN;
  }
}
