import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TmpoReader } from '../api/blocks';
import type { LiveCounter } from '../readings/counter-power';

/**
 * The dashboard in server mode (docs/protocols/server.md#dashboard): instead of one device's live
 * readings and TMPO store, every device's sensors a Flukso server holds, for history charts that
 * put sensors of several devices side by side. The server's node passes an adapter of this shape
 * (nodes/lib/dashboard-fleet.ts), so this folder stays free of the server's code.
 */

/** Who asks: the editor's login (the server's admin, sees everything) or a Flukso user's master token. */
export type Viewer = { admin: true } | { token: string };

export interface FleetSensor {
  sid: string;
  /** the device the sensor belongs to, and its owner (a user name) */
  did: string;
  owner: string;
  name: string;
  type: string;
}

export interface FleetSource {
  /** The sensors `viewer` may read, in a stable order; undefined when the token is nobody's. */
  sensors(viewer: Viewer): Promise<FleetSensor[] | undefined>;
  /**
   * Whether `viewer` may read sensor `sid` (asked per series request, so it need not list all):
   * 200, 403 (a valid token, not for this sensor), 401 (nobody's token) or 404 (no such sensor).
   */
  access(viewer: Viewer, sid: string): Promise<200 | 401 | 403 | 404>;
  /** The server's readings as TMPO blocks, which the series route reads as it reads a device's store. */
  reader: TmpoReader;
  /**
   * The readings the server has just stored (the newest of each upload or block), for the live
   * tiles; absent on a server that offers none.
   */
  live?: { subscribe(fn: (r: FleetCounter) => void): () => void };
}

/** A counter just stored on the server: the server's own live reading, passed on as it is. */
export type FleetCounter = LiveCounter;

export interface FleetView {
  id: string;
  name: string;
  fleet: FleetSource;
  /** the live readings' Server-Sent Events, each page given the sensors its viewer may see */
  stream?: FleetStreamLike;
}

/** What the events route needs of core/dashboard/fleet-stream.ts. */
export interface FleetStreamLike {
  open(req: IncomingMessage, res: ServerResponse, viewer: Viewer, visible: FleetSensor[]): void;
}
