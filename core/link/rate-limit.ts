/**
 * One log line per kind of trouble per interval: the first at once, then at most one each
 * interval, saying how many were held back. A meter with a bad cable sends a bad telegram
 * every second; its owner needs to know, not 86,400 lines a day.
 */
export class RateLimiter {
  private readonly seen = new Map<string, { last: number; held: number; text: string }>();

  constructor(
    readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The text to log now, with a count of what was held back; null to stay quiet. */
  take(key: string, text: string): string | null {
    const t = this.now();
    const s = this.seen.get(key);
    if (s && t - s.last < this.intervalMs) {
      s.held++;
      s.text = text;
      return null;
    }
    const held = s?.held ?? 0;
    this.seen.set(key, { last: t, held: 0, text });
    if (held === 0) return text;
    const secs = Math.round((t - s!.last) / 1000);
    return `${text} (and ${held} more like it in the last ${secs} s)`;
  }

  /**
   * Summaries of the kinds whose interval is over with occurrences held back (all of them
   * with `all`, e.g. when closing): a burst that stops is still counted in the log, once,
   * instead of waiting for its next occurrence. A kind summarised is forgotten, so its next
   * occurrence is reported at once.
   */
  due(all = false): Array<{ key: string; held: number; text: string }> {
    const t = this.now();
    const out: Array<{ key: string; held: number; text: string }> = [];
    for (const [key, s] of this.seen) {
      if (!all && t - s.last < this.intervalMs) continue;
      this.seen.delete(key);
      if (s.held === 0) continue;
      const secs = Math.max(1, Math.round((t - s.last) / 1000));
      out.push({ key, held: s.held, text: `${s.held} more like this in the last ${secs} s: ${s.text}` });
    }
    return out;
  }

  /** Whether any kind has occurrences held back, not yet said. */
  get holding(): boolean {
    for (const s of this.seen.values()) if (s.held > 0) return true;
    return false;
  }

  /** Forget a key, so its next occurrence is reported at once (e.g. after it was resolved). */
  clear(key: string): void {
    this.seen.delete(key);
  }
}

/**
 * The kind of an error for rate limiting: its text with the parts that change from one reading
 * to the next (numbers, sensor ids, quoted values) left out, so "unknown sensor 1a2b…" and
 * "unknown sensor 3c4d…" are one kind and "bad payload" another.
 */
export function similarKey(text: string): string {
  return text
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b[0-9a-f]{8,}\b/gi, '…')
    .replace(/-?\d+(\.\d+)?/g, '#')
    .slice(0, 200);
}
