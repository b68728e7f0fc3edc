/**
 * The power between two counter readings, as the FLM gives it: whole units per `perSeconds`
 * (3600: Wh to W; 86400: L to L/day). None across a counter that went down (a reset, a new rid)
 * or between two readings of the same second.
 */
export function powerBetween(
  a: { ts: number; value: number },
  b: { ts: number; value: number; perSeconds: number },
): number | undefined {
  const dt = b.ts - a.ts;
  const dv = b.value - a.value;
  if (!(dt > 0) || !(dv >= 0)) return undefined;
  return Math.round((dv * b.perSeconds) / dt);
}
