/**
 * One log line per kind of trouble per interval: the first at once, then at most one each
 * interval, saying how many were held back. A meter with a bad cable sends a bad telegram
 * every second; its owner needs to know, not 86,400 lines a day (ecosystem.md §G.1).
 */
export class RateLimiter {
  private readonly seen = new Map<string, { last: number; held: number }>();

  constructor(readonly intervalMs = 60_000, private readonly now: () => number = Date.now) {}

  /** The text to log now, with a count of what was held back; null to stay quiet. */
  take(key: string, text: string): string | null {
    const t = this.now();
    const s = this.seen.get(key);
    if (s && t - s.last < this.intervalMs) {
      s.held++;
      return null;
    }
    const held = s?.held ?? 0;
    this.seen.set(key, { last: t, held: 0 });
    if (held === 0) return text;
    const secs = Math.round((t - s!.last) / 1000);
    return `${text} (and ${held} more like it in the last ${secs} s)`;
  }

  /** Forget a key, so its next occurrence is reported at once (e.g. after it was resolved). */
  clear(key: string): void {
    this.seen.delete(key);
  }
}
