import { systemClock, type Clock } from '../util/clock';

/**
 * "No telegram for N seconds": the staleness signal users ask for
 * (docs/protocols/p1.md#sanity-rules). Counted from the last good telegram only, whatever the
 * transport does meanwhile (a connection that opens and drops every few seconds is still no data).
 * Fires after `ms` of silence and again every `ms` while the silence lasts.
 */
export class Watchdog {
  private timer: unknown;
  private fires = 0;
  private lastKick: number;
  private running = false;

  constructor(
    readonly ms: number,
    private readonly onSilent: (silentMs: number, fires: number) => void,
    private readonly clock: Clock = systemClock,
  ) {
    this.lastKick = clock.now();
  }

  /** Start watching; silence is counted from now. */
  start(): void {
    this.running = true;
    this.lastKick = this.clock.now();
    this.arm();
  }

  /** Data arrived: the silence is over. */
  kick(): void {
    this.fires = 0;
    this.lastKick = this.clock.now();
    if (this.running) this.arm();
  }

  stop(): void {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** True between a firing and the next kick. */
  get stale(): boolean {
    return this.fires > 0;
  }

  /** How long since the last kick (or start). */
  get silentMs(): number {
    return this.clock.now() - this.lastKick;
  }

  private arm(): void {
    this.clock.clearTimeout(this.timer);
    if (!(this.ms > 0)) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      this.fires++;
      this.arm();
      this.onSilent(this.clock.now() - this.lastKick, this.fires);
    }, this.ms);
  }
}
