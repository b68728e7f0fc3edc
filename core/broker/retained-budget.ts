/**
 * How many retained messages the broker holds, and their bytes, against a cap. The broker keeps
 * one retained message per topic in memory until it is cleared (an empty retained payload), so
 * without a cap any client can grow the process without bound.
 */
export class RetainedBudget {
  private readonly sizes = new Map<string, number>();
  private total = 0;

  constructor(
    readonly maxMessages: number,
    readonly maxBytes: number,
  ) {}

  get messages(): number {
    return this.sizes.size;
  }

  get bytes(): number {
    return this.total;
  }

  /** Would storing `bytes` on `topic` (replacing what is there) stay within the cap? */
  fits(topic: string, bytes: number): boolean {
    if (bytes === 0) return true;
    const old = this.sizes.get(topic);
    const count = this.sizes.size + (old === undefined ? 1 : 0);
    return count <= this.maxMessages && this.total - (old ?? 0) + bytes <= this.maxBytes;
  }

  /** Start again from what a shared store holds now: topic and bytes of each retained message. */
  reset(entries: Iterable<[string, number]>): void {
    this.sizes.clear();
    this.total = 0;
    for (const [topic, bytes] of entries) this.record(topic, bytes);
  }

  /** Record a retained message stored (or cleared, with 0 bytes) on `topic`. */
  record(topic: string, bytes: number): void {
    this.total -= this.sizes.get(topic) ?? 0;
    if (bytes === 0) this.sizes.delete(topic);
    else {
      this.sizes.set(topic, bytes);
      this.total += bytes;
    }
  }
}

/** What a retained message costs: its topic and payload, or nothing for an empty one (a clear). */
export function retainedSize(topic: string, payload: Buffer | string): number {
  const n = Buffer.byteLength(payload);
  return n === 0 ? 0 : n + Buffer.byteLength(topic);
}
