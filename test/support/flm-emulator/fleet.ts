import { createHash } from 'node:crypto';
import type { FlmEmulator } from './emulator';

/**
 * Many emulated FLMs: deterministic identities, and a driver that moves them through emulated
 * time together, in chunks, pausing between chunks so sockets and MQTT clients get their turn.
 */

const hex32 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

export interface FleetIdentity {
  did: string;
  /** the key the server is told */
  key: string;
  sids: string[];
}

/** Device `n` of fleet `fleet`: ids and key from a hash, so runs are repeatable. */
export function fleetIdentity(fleet: string, n: number): FleetIdentity {
  return {
    did: hex32(`${fleet}/device/${n}`),
    key: hex32(`${fleet}/key/${n}`),
    sids: [0, 1, 2, 3].map((i) => hex32(`${fleet}/sensor/${n}/${i}`)),
  };
}

/** A key that is not the device's (for devices the server must refuse). */
export const wrongKey = (key: string): string => hex32(`wrong/${key}`);

export interface FleetRun {
  from: number;
  to: number;
  /** emulated seconds per chunk */
  chunkSec?: number;
  /** real ms to pause after each chunk */
  paceMs?: number;
  /** called after each chunk with the emulated time reached (a test kills the server from here) */
  onChunk?: (t: number) => Promise<void> | void;
}

export async function runFleet(emus: readonly FlmEmulator[], run: FleetRun): Promise<void> {
  const chunk = run.chunkSec ?? 300;
  for (const e of emus) e.start();
  for (let t = run.from + chunk; ; t = Math.min(t + chunk, run.to)) {
    await Promise.all(emus.map((e) => e.advanceTo(t)));
    await run.onChunk?.(t);
    await new Promise((r) => setTimeout(r, run.paceMs ?? 1));
    if (t >= run.to) break;
  }
}
