/**
 * Turns a flow (W, or L per day) into whole pulses the way an S0 meter does: energy accumulates
 * and a pulse fires each time it crosses one meter constant. The time of the last pulse in a
 * step is interpolated inside the step, to the millisecond.
 */
export class PulseMeter {
  private acc = 0;
  total = 0;

  constructor(readonly constant: number) {}

  /** Advance by `amount` (Wh or L) spread evenly over [fromMs, toMs). */
  step(amount: number, fromMs: number, toMs: number): { pulses: number; time: number } | null {
    const before = this.acc;
    this.acc += amount;
    const pulses = Math.floor(this.acc / this.constant + 1e-9);
    if (pulses === 0) return null;
    this.acc -= pulses * this.constant;
    this.total += pulses;
    const lastCross = pulses * this.constant - before;
    const frac = amount > 0 ? Math.min(1, Math.max(0, lastCross / amount)) : 1;
    return { pulses, time: Math.min(toMs - 1, Math.floor(fromMs + frac * (toMs - fromMs))) };
  }
}
