import type { LiveCounter } from '../../readings/counter-power';
/**
 * What the server's MQTT bridge endpoint needs from the rest of the server: the device registry
 * for logins, the last stored block per sensor for the sync reply, and a place to put what a
 * device publishes. The endpoint speaks MQTT; the store behind it is another module's concern,
 * so the same endpoint runs on the file store or a shared database (docs/protocols/upload.md).
 */
export interface BridgeBackend {
  /** True when `did` is a known device whose key is `key` (both 32 lowercase hex). */
  authenticate(did: string, key: string): Promise<boolean>;
  /**
   * One entry per enabled sensor of the device: the last block stored (by creation, then highest
   * level), or rid 0, lvl 0, bid 0 when none, which makes the device send everything again.
   */
  syncList(did: string): Promise<BridgeSyncEntry[]>;
  /** A TMPO block from `/sensor/<sid>/tmpo/<rid>/<lvl>/<bid>/<ext>`; storing one twice is a no-op. */
  storeBlock(did: string, block: BridgeBlock): Promise<void>;
  /** A retained `/device/<did>/config/{sensor,kube,flx}` document, as published. */
  storeConfig(did: string, kind: 'sensor' | 'kube' | 'flx', payload: Buffer): Promise<void>;
  /**
   * Whether `sid` is an enabled sensor of `did` now (its table may have arrived a moment ago).
   * Asked for a block of a sensor the last sync list did not name; without it the endpoint asks
   * for the whole sync list again.
   */
  isSensorOf?(did: string, sid: string): Promise<boolean>;
  /**
   * The endpoint dropped a block before it reached storeBlock (not a TMPO block, not the
   * device's sensor), so a backend's own count of refused blocks covers every one the bridge refused.
   */
  blockRefused?(did: string, detail: string): void;
  /**
   * A user of the server's accounts logging in with their master token: the sensor ids they may
   * read (their own and those shared with them), or undefined when the name and token do not
   * match. Without it the endpoint takes devices only.
   */
  userSensors?(user: string, token: string): Promise<Set<string> | undefined>;
  /** Readings just stored, for the endpoint to publish live (docs/protocols/server-bridge.md#live-readings). */
  live?: LiveSource;
}

/** The newest reading of a batch just stored, with what the FLM's `/sensor/<sid>/counter` and `/gauge` need. */
export type LiveReading = LiveCounter;

export interface LiveSource {
  /** Calls `fn` for each reading offered; returns what stops it. */
  subscribe(fn: (r: LiveReading) => void): () => void;
}

export interface BridgeSyncEntry {
  sid: string;
  rid: number;
  lvl: number;
  bid: number;
}

export interface BridgeBlock extends BridgeSyncEntry {
  /** "gz" for every block the FLM writes */
  ext: string;
  data: Buffer;
}
