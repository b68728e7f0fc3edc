/**
 * A counter reading with what the power from it needs, as a Flukso server offers its newest ones
 * live: to the MQTT bridge (`/sensor/<sid>/counter` and `/gauge`) and to the dashboard's stream.
 */
export interface LiveCounter {
  sid: string;
  /** Unix seconds */
  ts: number;
  /** the counter */
  value: number;
  /** the counter's unit on the wire: Wh or L */
  unit: string;
  /** the power's unit: W or L/day */
  gaugeUnit: string;
  /** seconds the power is given per: 3600 (Wh to W) or 86400 (L to L/day) */
  perSeconds: number;
  /** the reading before it in the same batch, for the power */
  before?: { ts: number; value: number };
}

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
