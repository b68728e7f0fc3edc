import type { Sample } from '../tmpo/block';
import { CLOCK_VALID_AFTER } from '../config/clock-valid';
import { isSid } from '../tmpo/ids';

/** Where the local API gets its data: the latest gauge readings of each sensor. */
export interface GaugeSource {
  /**
   * The sensor's latest gauges, oldest first, times strictly increasing; `[]` for a served
   * sensor that has none yet, undefined for a sensor that is not served (the API answers 404).
   */
  series(sid: string): readonly Sample[] | undefined;
}

export interface RecentGaugesOptions {
  /** gauges kept per sensor; at most one a second is taken, so 64 covers the API's 60 s */
  capacity?: number;
  /** sensors kept at most when no sensor list is set (each costs `capacity` × 16 bytes) */
  maxSensors?: number;
  /** gauges stamped at or before this are ignored: the FLM's 2009-02-13 rule (docs/protocols/flm-mqtt.md#time) */
  validAfter?: number;
}

interface Ring {
  times: Float64Array;
  values: Float64Array;
  /** index of the oldest entry */
  first: number;
  count: number;
  unit: string | undefined;
}

/**
 * The FLM's LAN buffer (docs/protocols/tmpo.md#local-api): per sensor, a fixed ring of the last
 * gauges. A gauge is taken only when its time is after the sensor's previous one, so there is at
 * most one per second, as fluksod keeps it. Memory is bounded by capacity × sensors, whatever comes
 * in.
 */
export class RecentGauges implements GaugeSource {
  private readonly rings = new Map<string, Ring>();
  private served: Set<string> | undefined;
  private readonly capacity: number;
  private readonly maxSensors: number;
  private readonly validAfter: number;

  constructor(options: RecentGaugesOptions = {}) {
    this.capacity = options.capacity ?? 64;
    this.maxSensors = options.maxSensors ?? 256;
    this.validAfter = options.validAfter ?? CLOCK_VALID_AFTER;
    if (!Number.isSafeInteger(this.capacity) || this.capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${this.capacity}`);
  }

  /**
   * Serve exactly these sensors (the device's enabled ones): they answer `[]` before their first
   * gauge, and gauges of any other sensor are ignored. Without a list, any sensor that sent a
   * gauge is served.
   */
  setSensors(sids: Iterable<string>): void {
    this.served = new Set([...sids].filter(isSid));
    for (const sid of this.rings.keys()) if (!this.served.has(sid)) this.rings.delete(sid);
  }

  /** Add a gauge; false when it was not taken (not served, stale time, not finite, or full). */
  push(sid: string, ts: number, value: number, unit?: string): boolean {
    if (!Number.isSafeInteger(ts) || ts <= this.validAfter || !Number.isFinite(value)) return false;
    if (this.served ? !this.served.has(sid) : !isSid(sid)) return false;
    let ring = this.rings.get(sid);
    if (!ring) {
      if (!this.served && this.rings.size >= this.maxSensors) return false;
      ring = {
        times: new Float64Array(this.capacity),
        values: new Float64Array(this.capacity),
        first: 0,
        count: 0,
        unit,
      };
      this.rings.set(sid, ring);
    }
    if (ring.count > 0 && ts <= ring.times[(ring.first + ring.count - 1) % this.capacity]!) return false;
    const at = (ring.first + ring.count) % this.capacity;
    ring.times[at] = ts;
    ring.values[at] = value;
    if (ring.count < this.capacity) ring.count++;
    else ring.first = (ring.first + 1) % this.capacity;
    if (unit !== undefined) ring.unit = unit;
    return true;
  }

  series(sid: string): Sample[] | undefined {
    const ring = this.rings.get(sid);
    if (!ring) return this.served?.has(sid) ? [] : undefined;
    const out = new Array<Sample>(ring.count);
    for (let i = 0; i < ring.count; i++) {
      const at = (ring.first + i) % this.capacity;
      out[i] = [ring.times[at]!, ring.values[at]!];
    }
    return out;
  }

  /** The unit of the sensor's last gauge (`W`, `L/day`), for callers that label the data. */
  unit(sid: string): string | undefined {
    return this.rings.get(sid)?.unit;
  }

  /** Sensors holding gauges now. */
  get sensors(): number {
    return this.rings.size;
  }
}
