/**
 * Preloaded into a child process (`NODE_OPTIONS=--require …/fast-clock.js`) to make its wall clock
 * run `FLM_TEST_CLOCK_SPEED` times faster than real time from `FLM_TEST_CLOCK_ANCHOR_MS` on:
 * Date.now() = anchor + (real − anchor) × speed. Timers keep real time, so a process that ticks once
 * a second sees `speed` seconds pass per tick. For journeys whose clock-driven steps (a TMPO window
 * closes every 256 s) are too slow to wait for; test/support/fast-clock.ts computes the same time.
 */
const speed = Number(process.env.FLM_TEST_CLOCK_SPEED);
const anchor = Number(process.env.FLM_TEST_CLOCK_ANCHOR_MS);

if (speed > 0 && Number.isFinite(anchor)) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const now = (): number => Math.floor(anchor + (realNow() - anchor) * speed);
  class FastDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now());
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return now();
    }
  }
  globalThis.Date = FastDate as DateConstructor;
}
