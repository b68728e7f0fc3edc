import type { Series, SensorCfg } from '../../tmpo/block';
import type { TmpoReader } from '../../api/blocks';
import type { BridgeSyncEntry } from '../bridge/backend';

/**
 * What the Flukso server keeps of the data its devices send: readings per sensor and rid (from
 * HTTP uploads and TMPO blocks alike, each (sid, rid, ts) once), served again as TMPO blocks of
 * levels 8 to 20, plus the little it keeps per device (heartbeats). The file store
 * (file-store.ts) implements it; a shared database can too (docs/protocols/server.md#store).
 *
 * Every write resolves only once what it wrote survives a kill of the process; the server
 * acknowledges a request after that, never before.
 */
export interface ReadingStore extends TmpoReader {
  /**
   * Readings of one sensor and rid, times whole Unix seconds, values finite. A reading whose
   * (sid, rid, ts) is already stored is dropped. `block` names the TMPO block they came in, so
   * the bridge's sync reply can name the last one.
   */
  addReadings(sid: string, rid: number, series: Series, block?: { lvl: number; bid: number }): Promise<void>;
  /** A device's heartbeat; `reset` is 1 when the device has just booted. */
  addHeartbeat(did: string, reset: boolean, at: number): Promise<void>;
  /** Calls `visit` for each stored sample of sid/rid with from <= t <= to, in time order. */
  forEachSample(
    sid: string,
    rid: number,
    from: number,
    to: number,
    visit: (t: number, v: number) => void,
  ): Promise<void>;
  /** The rids stored for a sensor, ascending. */
  rids(sid: string): Promise<number[]>;
  /** The last TMPO block a device sent for the sensor (bridge sync), if any. */
  lastBlock(sid: string): Promise<BridgeSyncEntry | undefined>;
  deviceState(did: string): Promise<DeviceState | undefined>;
  /**
   * Wait until what was acknowledged of the sealed windows is in blocks (tests); the database
   * store has nothing to wait for.
   */
  flush(): Promise<void>;
  /** Whether the store takes data now. */
  healthy(): boolean;
  stats(): StoreStats;
  close(): Promise<void>;
}

export interface DeviceState {
  heartbeats: number;
  resets: number;
  /** Unix seconds of the last heartbeat */
  lastHeartbeat: number;
}

export interface StoreStats {
  /** readings handed to addReadings */
  received: number;
  /** readings written into blocks that were not stored before */
  stored: number;
  /** readings dropped because their (sid, rid, ts) was already stored */
  duplicates: number;
  /** readings dropped because they came more than 2^20 s before the first window still open to them */
  expired: number;
  /** readings acknowledged, of sealed windows, not yet in blocks (work the store still has to do) */
  pending: number;
  /** readings acknowledged, waiting for their window to be sealed */
  open: number;
  checkpoints: number;
  compactions: number;
  walBytes: number;
}

/** The sensor's configuration to put into the blocks the store writes (`h.cfg`). */
export type CfgSource = (sid: string, rid: number) => SensorCfg;

/** The store cannot answer now (its database is away); the API answers 503, a client tries again. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
