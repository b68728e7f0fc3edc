/**
 * Which board second a ct_data or pulse_data may carry
 * (docs/protocols/sensor-board.md#flm03-plausibility). A byte of the time field flipped between
 * 0x00 and 0xFF passes the frame checksum and moves the second by ±255, ±65,280, … s. Taken as it
 * is, such a second would release the seconds still pending early, or stamp readings far in the
 * future, after which the one-reading-per-second rule holds back every real reading until that time
 * comes.
 *
 * A second is in step when it lies within a few seconds of the latest one accepted, plus the
 * host time since then (a pulse port alone reports only in seconds with pulses). A second out
 * of step is held, not used: if the next frame is in step with the stream, the held one was
 * corrupted and is dropped; if the next agrees with the held one instead, the stream really
 * moved (a time_step, an outage, a board restart) and follows it. The first second after a
 * start is held the same way, so a stream never starts from a corrupted one.
 */

/** A late frame of an earlier second (one clamp's report crossing another's) */
const BEHIND_S = 3;
/** Seconds ahead of the last one with no host time passed: reports lost on the line */
const AHEAD_S = 3;

export type Placement =
  /** in step with the stream: use it */
  | 'in-step'
  /** out of step: hold it until the next frame decides */
  | 'held'
  /** the held second was confirmed: the stream moved; what was pending belongs to the old one */
  | 'moved';

export class StreamClock {
  private current: number | undefined;
  private currentHostMs = 0;
  private held: { second: number; hostMs: number } | undefined;
  /** held seconds the next frame showed to be out of step, and dropped */
  dropped = 0;

  /** The latest accepted second, if any. */
  get second(): number | undefined {
    return this.current;
  }

  /** The second held for the next frame to decide on. */
  get heldSecond(): number | undefined {
    return this.held?.second;
  }

  place(second: number, hostMs: number): Placement {
    if (this.current !== undefined && agrees(this.current, this.currentHostMs, second, hostMs)) {
      if (this.held) this.dropHeld();
      this.advance(second, hostMs);
      return 'in-step';
    }
    const h = this.held;
    if (h && agrees(h.second, h.hostMs, second, hostMs)) {
      this.held = undefined;
      this.current = undefined;
      this.advance(Math.max(h.second, second), hostMs);
      return 'moved';
    }
    if (h) this.dropHeld();
    this.held = { second, hostMs };
    return 'held';
  }

  private dropHeld(): void {
    this.held = undefined;
    this.dropped++;
  }

  private advance(second: number, hostMs: number): void {
    if (this.current === undefined || second > this.current) {
      this.current = second;
      this.currentHostMs = hostMs;
    }
  }
}

function agrees(base: number, baseHostMs: number, second: number, hostMs: number): boolean {
  const ahead = AHEAD_S + Math.ceil(Math.max(0, hostMs - baseHostMs) / 1000);
  return second >= base - BEHIND_S && second <= base + ahead;
}
