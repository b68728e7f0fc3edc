import { systemClock, type Clock } from '../../util/clock';

export interface BatcherOptions<T> {
  /** a batch goes out as soon as it has this many items */
  maxItems: number;
  /** and at the latest this long after its first item arrived */
  maxDelayMs: number;
  /** called with each batch, in order; never with an empty one */
  onBatch: (items: T[]) => void;
  clock?: Clock;
}

/** Gathers items into batches by count and by time. */
export class Batcher<T> {
  private items: T[] = [];
  private timer: unknown;
  private readonly clock: Clock;

  constructor(private readonly opts: BatcherOptions<T>) {
    this.clock = opts.clock ?? systemClock;
  }

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.opts.maxItems) this.flush();
    else if (this.items.length === 1) this.timer = this.clock.setTimeout(() => this.flush(), this.opts.maxDelayMs);
  }

  /** Hand over what is gathered now (on close, or when asked). */
  flush(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.items.length === 0) return;
    const batch = this.items;
    this.items = [];
    this.opts.onBatch(batch);
  }
}
