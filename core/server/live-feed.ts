import type { Series } from '../tmpo/block';
import type { LiveReading, LiveSource } from './bridge/backend';
import type { Registry } from './registry';
import type { ReadingStore } from './store/types';

/**
 * The FLM's counter units (docs/protocols/server-bridge.md#live-readings): its fluksod knows
 * these three sensor types only, so a sensor of another type is stored but never published.
 */
const UNITS: Record<string, { counter: string; gauge: string; perSeconds: number }> = {
  electricity: { counter: 'Wh', gauge: 'W', perSeconds: 3600 },
  water: { counter: 'L', gauge: 'L/day', perSeconds: 86_400 },
  gas: { counter: 'L', gauge: 'L/day', perSeconds: 86_400 },
};

/**
 * Readings the server has just stored, offered to whoever publishes them live (the bridge
 * endpoint). Only the newest reading of each batch is offered, with the one before it for the
 * power: a five-minute upload replayed reading by reading would be history, not live data.
 * Whether it is newer than what was already published is the publisher's call (it sees the
 * retained value every instance shares).
 */
export class LiveFeed implements LiveSource {
  private readonly listeners = new Set<(r: LiveReading) => void>();

  constructor(private readonly registry: Registry) {}

  subscribe(fn: (r: LiveReading) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** A batch of one sensor's counters, as stored. */
  offer(sid: string, series: Series): void {
    if (this.listeners.size === 0 || series.times.length === 0) return;
    const type = this.registry.sensor(sid)?.config['type'] ?? 'electricity';
    const units = typeof type === 'string' && Object.hasOwn(UNITS, type) ? UNITS[type] : undefined;
    if (!units) return;
    // Blocks come sorted, uploads in the order the FLM buffered them: find the two newest.
    let last = -1;
    let before = -1;
    for (let i = 0; i < series.times.length; i++) {
      const t = series.times[i]!;
      if (last < 0 || t > series.times[last]!) {
        before = last;
        last = i;
      } else if (t < series.times[last]! && (before < 0 || t > series.times[before]!)) before = i;
    }
    const reading: LiveReading = {
      sid,
      ts: series.times[last]!,
      value: series.values[last]!,
      unit: units.counter,
      gaugeUnit: units.gauge,
      perSeconds: units.perSeconds,
      ...(before >= 0 ? { before: { ts: series.times[before]!, value: series.values[before]! } } : {}),
    };
    for (const fn of this.listeners) fn(reading);
  }
}

/**
 * The store as ingestion and the bridge backend see it: the same store, whose `addReadings`
 * also offers what it stored to the live feed once it is durable (never before: a subscriber
 * must not see a reading the server could still lose).
 */
export function feedingLive(store: ReadingStore, live: LiveFeed): ReadingStore {
  const addReadings: ReadingStore['addReadings'] = async (sid, rid, series, block) => {
    await store.addReadings(sid, rid, series, block);
    live.offer(sid, series);
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'addReadings') return addReadings;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
