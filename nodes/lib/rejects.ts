import type { Node, NodeMessage } from 'node-red';
import { RateLimiter, similarKey } from '../../core/link/rate-limit';
import { errorText } from './close';
import type { Done } from './startup-queue';

/** One report per kind of trouble a minute: a source with a bad reading every second is one line, not 60. */
const REPORT_INTERVAL_MS = 60_000;

/**
 * A node's per-reading trouble: every message it fails or passes over is counted by reason,
 * for its status, and reported without flooding the log.
 *
 * Catch nodes and the log are served alike. The first error of a kind in a minute ends its
 * message with `done(err)`: a Catch node gets it with that message, and Node-RED logs it when
 * no Catch node takes it. The others of that minute end with `done()` (Catch does not see
 * them, a Complete node does), are counted in the status, and once the minute is over one
 * warning says how many more there were and what the last one said. A kind is the error text
 * with its numbers, ids and quoted values left out, or the reason the caller names.
 */
export class Rejects {
  private readonly limiter: RateLimiter;
  private readonly byReason = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  total = 0;

  constructor(
    private readonly node: Node,
    intervalMs = REPORT_INTERVAL_MS,
  ) {
    this.limiter = new RateLimiter(intervalMs);
    // Held-back counts are said before the node goes (a redeploy, a stop), not lost with it.
    node.on('close', () => this.close());
  }

  /** A message that failed: counted, and ended with `done(err)` when it is the first of its kind in the interval, else `done()`. */
  fail(done: Done, err: unknown, reason?: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    const text = this.note(reason ?? similarKey(e.message), e.message);
    if (text === null) return done();
    // The count of the ones held back since the last report rides on this one.
    if (text !== e.message) e.message = text;
    done(e);
  }

  /**
   * Trouble outside an input message (a timer, bytes from a port, a message from a broker):
   * counted, `node.error` once per kind per interval, with `msg` so a Catch node gets it.
   */
  error(err: unknown, msg?: NodeMessage, reason?: string): void {
    const text = errorText(err);
    const report = this.note(reason ?? similarKey(text), text);
    if (report === null) return;
    if (msg) this.node.error(report, msg);
    else this.node.error(report);
  }

  /** A message passed over on purpose that its sender did not expect to lose: counted under `reason`, a warning once per interval. */
  drop(reason: string, text: string): void {
    const report = this.note(reason, text);
    if (report !== null) this.node.warn(report);
  }

  /** How many were counted under `reason`. */
  count(reason: string): number {
    return this.byReason.get(reason) ?? 0;
  }

  /** Held-back reports now (the node is closing). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.summarise(true);
  }

  /** Counts the occurrence; the text to report now, or null while held back. */
  private note(reason: string, text: string): string | null {
    this.total++;
    this.byReason.set(reason, this.count(reason) + 1);
    const report = this.limiter.take(reason, text);
    if (report === null) this.schedule();
    return report;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.summarise(false);
      if (this.limiter.holding) this.schedule();
    }, this.limiter.intervalMs);
    this.timer.unref?.();
  }

  private summarise(all: boolean): void {
    for (const s of this.limiter.due(all)) this.node.warn(s.text);
  }
}
