import type { BoardBatch, PortRecord } from '../mqtt/board-batch';

/**
 * Pulse events from anywhere (a GPIO pin, a webhook, a button) as board batches: an S0 meter on
 * a Raspberry Pi's GPIO counts without a sensor board.
 *
 * An S0 output closes a switch for each pulse, which pulls a pin with a pull-up low: the pulse
 * is the falling edge. GPIO nodes report every change (1, 0, 1, …), so `falling` counts a low
 * level that follows a high one and `rising` the reverse; the first message only tells the
 * level. `message` counts every message. Debounce drops an edge that follows the last counted
 * one within the debounce time (the FLM02B ignores 5 ms after each edge), by the events' own
 * millisecond times when they carry them.
 */

export const PULSE_TRIGGERS = ['falling', 'rising', 'message'] as const;
export type PulseTrigger = (typeof PULSE_TRIGGERS)[number];

export type PulseTarget = { port: number } | { sid: string };

export interface PulseInputOptions {
  trigger: PulseTrigger;
  /** ms after a counted pulse in which edges are ignored; 0: none */
  debounceMs: number;
  target: PulseTarget;
}

export type PulseOutcome = 'counted' | 'debounced' | 'level';

export interface PulseInputStats {
  counted: number;
  debounced: number;
}

const HIGH = new Set(['1', 'true', 'high', 'on']);
const LOW = new Set(['0', 'false', 'low', 'off']);

/** A GPIO-style level: 0/1, true/false, or "0", "1", "low", "high", "on", "off" (any case). */
function readLevel(payload: unknown): 0 | 1 {
  if (payload === 0 || payload === false) return 0;
  if (payload === 1 || payload === true) return 1;
  if (typeof payload === 'string') {
    const t = payload.trim().toLowerCase();
    if (HIGH.has(t)) return 1;
    if (LOW.has(t)) return 0;
  }
  const shown =
    typeof payload === 'string'
      ? `"${payload.slice(0, 20)}"`
      : payload === null
        ? 'null'
        : typeof payload === 'object'
          ? 'an object'
          : String(payload);
  throw new Error(`msg.payload must be a pin level (0 or 1, true or false, "low" or "high"), not ${shown}`);
}

/** An event's time: `timestamp` (Unix ms) when the event carries one, else now. */
export function eventTime(timestamp: unknown, now: number): number {
  if (timestamp === undefined || timestamp === null) return now;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp <= 0) {
    throw new Error(`msg.timestamp must be Unix milliseconds, not ${JSON.stringify(timestamp)}`);
  }
  return Math.round(timestamp);
}

export class PulseInput {
  private level: 0 | 1 | undefined;
  private lastPulse = -Infinity;
  private readonly counts: PulseInputStats = { counted: 0, debounced: 0 };

  constructor(readonly options: PulseInputOptions) {
    if (!PULSE_TRIGGERS.includes(options.trigger))
      throw new Error(`trigger "${options.trigger}" is not falling, rising or message`);
    if (!(options.debounceMs >= 0)) throw new Error(`debounce ${options.debounceMs} ms is not ≥ 0`);
  }

  get stats(): Readonly<PulseInputStats> {
    return { ...this.counts };
  }

  /** Time of the last counted pulse, Unix ms. */
  get lastPulseTime(): number | undefined {
    return Number.isFinite(this.lastPulse) ? this.lastPulse : undefined;
  }

  /**
   * One event: a message's payload at `time` (Unix ms). Returns whether it was a pulse; throws,
   * naming what was wrong, when an edge trigger gets something that is not a level.
   */
  event(payload: unknown, time: number): PulseOutcome {
    const { trigger } = this.options;
    if (trigger !== 'message') {
      const level = readLevel(payload);
      const previous = this.level;
      this.level = level;
      const target = trigger === 'falling' ? 0 : 1;
      if (previous === undefined || previous === level || level !== target) return 'level';
    }
    if (time - this.lastPulse < this.options.debounceMs) {
      this.counts.debounced++;
      return 'debounced';
    }
    this.counts.counted++;
    // Events out of order (a clock step) keep the pulse times going forward.
    this.lastPulse = Math.max(time, this.lastPulse);
    return 'counted';
  }

  /** The batch for `pulses` just counted (1 for a pulse, 0 for an idle tick), stamped `now`. */
  batch(pulses: number, now: number): BoardBatch {
    const rec = { kind: 'pulse', ...this.options.target, pulses } as PortRecord;
    if (pulses > 0 && this.lastPulseTime !== undefined) (rec as { time?: number }).time = this.lastPulseTime;
    return { time: Math.max(now, this.lastPulseTime ?? now), records: [rec] };
  }
}
