/** The Flukso server's bounds for a bridge's keepalive, in seconds (docs/protocols/server-bridge.md#connect). */
const KEEPALIVE_MIN_S = 10;
const KEEPALIVE_MAX_S = 900;

/**
 * The keepalive the endpoint holds a device to. 0 ("never ping") becomes the maximum: an idle
 * connection whose peer vanished must still be noticed some day.
 */
export function clampKeepalive(asked: number | undefined): number {
  if (!asked || !Number.isFinite(asked) || asked <= 0) return KEEPALIVE_MAX_S;
  return Math.min(KEEPALIVE_MAX_S, Math.max(KEEPALIVE_MIN_S, Math.round(asked)));
}
