/** What the endpoint counts (docs/protocols/server-bridge.md#counters). */
const BRIDGE_COUNTS = [
  'login',
  'login-refused',
  'protocol-refused',
  'keepalive-clamped',
  'sync-reply',
  'block',
  'block-refused',
  'foreign-sensor',
  'config',
  'config-refused',
  'tap',
  'foreign-topic',
  'unrecognised',
  'subscribe-refused',
  'packet-too-large',
  'connections-refused',
  'tls-failed',
  'store-failed',
  'backend-failed',
  'user-login',
  'user-publish-refused',
  'live',
  'live-late',
] as const;
export type BridgeCount = (typeof BRIDGE_COUNTS)[number];

/** Counters since start; a snapshot is a plain object for status lines and tests. */
export class BridgeCounts {
  private readonly n = new Map<BridgeCount, number>();

  add(what: BridgeCount): void {
    this.n.set(what, (this.n.get(what) ?? 0) + 1);
  }

  get(what: BridgeCount): number {
    return this.n.get(what) ?? 0;
  }

  snapshot(): Record<BridgeCount, number> {
    return Object.fromEntries(BRIDGE_COUNTS.map((k) => [k, this.get(k)])) as Record<BridgeCount, number>;
  }
}
