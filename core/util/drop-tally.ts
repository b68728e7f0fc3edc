/**
 * Readings that could not be kept, counted by subject (a sensor) and reason, and told as one
 * line per interval with the counts: a source whose clock is off drops every reading, and its
 * owner needs to know how many and why, not a log line per reading. The first line goes out at
 * once, later ones at most once per interval.
 */
export class DropTally {
  private pending = new Map<string, Map<string, number>>();
  private told: number | undefined;
  private count = 0;

  constructor(
    readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  note(subject: string, reason: string, n = 1): void {
    let reasons = this.pending.get(subject);
    if (!reasons) this.pending.set(subject, (reasons = new Map()));
    reasons.set(reason, (reasons.get(reason) ?? 0) + n);
    this.count += n;
  }

  /** Everything noted since the start. */
  get total(): number {
    return this.count;
  }

  /** What to log now, e.g. `grid: 12 expired, 1 out-of-order; gas: 3 expired`; null when nothing is due. */
  take(): string | null {
    if (this.pending.size === 0) return null;
    const t = this.now();
    if (this.told !== undefined && t - this.told < this.intervalMs) return null;
    this.told = t;
    const text = [...this.pending]
      .map(([subject, reasons]) => `${subject}: ${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')}`)
      .join('; ');
    this.pending = new Map();
    return text;
  }
}
