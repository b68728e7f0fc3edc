import { join } from 'node:path';
import { repoRoot } from './paths';

/**
 * A wall clock `speed` times faster than real time, shared by the test and a child process that
 * preloads test/support/children/fast-clock.js: both compute anchor + (real − anchor) × speed.
 */
export function fastClock(speed: number, anchorMs = Date.now()) {
  const preload = join(repoRoot, 'dist', 'test', 'support', 'children', 'fast-clock.js');
  return {
    /** environment for the child process */
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
      FLM_TEST_CLOCK_SPEED: String(speed),
      FLM_TEST_CLOCK_ANCHOR_MS: String(anchorMs),
    },
    /** the child's Date.now() */
    nowMs: (): number => Math.floor(anchorMs + (Date.now() - anchorMs) * speed),
  };
}
