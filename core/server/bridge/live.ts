import type { Aedes } from 'aedes';
import type { LiveReading } from './backend';
import { powerBetween } from '../../readings/counter-power';

/** What the endpoint counts and logs of the live readings. */
export interface LiveEvents {
  published?: (r: LiveReading) => void;
  /** not newer than what was published: stored, not published */
  late?: (r: LiveReading) => void;
  failed?: (err: Error) => void;
}

/** A sensor's counter as last published: what a newer reading is compared against. */
interface Published {
  ts: number;
  value: number;
}

/**
 * Publishes the server's newest readings on the endpoint's MQTT namespace as the FLM publishes
 * them on its own broker (docs/protocols/server-bridge.md#live-readings): `/sensor/<sid>/counter`
 * `[ts,counter,"unit"]` and `/sensor/<sid>/gauge` `[ts,power,"unit"]`, retained, so a new
 * subscriber gets the last value at once, and QoS 1, so a persistent session gets what was
 * published while it was away.
 *
 * A reading not newer than the sensor's published counter (a late upload, a block of the past)
 * is stored but not published: counters never go back on the wire. The published counter is the
 * retained one, which every instance sharing the namespace reads alike, and the last this
 * instance published, whichever is newer.
 *
 * Readings go out one at a time, all sensors in one line: aedes numbers each publish and a
 * subscriber drops a message numbered below one it already got from the same instance, so two
 * publishes overtaking each other on their way through Redis would lose the first (the endpoint
 * now also drops only exact repeats, core/broker/exact-dedupe.ts; one at a time stays, as it
 * keeps the counters in order on the wire too). While a
 * sensor's reading waits its turn, a newer one of the same sensor takes its place: a slow
 * namespace gets the newest value, not a backlog.
 */
export class LivePublisher {
  private readonly published = new Map<string, Published>();
  /** sensor -> the reading waiting for its turn, in the order the sensors came */
  private readonly waiting = new Map<string, LiveReading>();
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly aedes: Aedes,
    private readonly on: LiveEvents = {},
  ) {}

  offer(r: LiveReading): void {
    if (this.stopped) return;
    const queued = this.waiting.get(r.sid);
    if (queued && queued.ts >= r.ts) return void this.on.late?.(r);
    if (queued) this.on.late?.(queued);
    this.waiting.set(r.sid, r);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Nothing more is published; resolves when the publish under way is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting.clear();
    await this.running;
  }

  private async drain(): Promise<void> {
    for (let next = this.take(); next && !this.stopped; next = this.take()) {
      try {
        await this.publishIfNewest(next);
      } catch (err) {
        this.on.failed?.(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private take(): LiveReading | undefined {
    const first = this.waiting.entries().next();
    if (first.done) return undefined;
    this.waiting.delete(first.value[0]);
    return first.value[1];
  }

  private async publishIfNewest(r: LiveReading): Promise<void> {
    if (this.stopped) return;
    const mine = this.published.get(r.sid);
    const shared = await this.retainedCounter(r.sid);
    const newest = !mine ? shared : !shared ? mine : shared.ts > mine.ts ? shared : mine;
    if (newest && r.ts <= newest.ts) return void this.on.late?.(r);
    if (this.stopped) return;
    await this.publish(`/sensor/${r.sid}/counter`, counterPayload(r.ts, r.value, r.unit));
    this.published.set(r.sid, { ts: r.ts, value: r.value });
    this.on.published?.(r);
    const before = r.before ?? newest;
    const power = before && powerBetween(before, r);
    if (power !== undefined) await this.publish(`/sensor/${r.sid}/gauge`, counterPayload(r.ts, power, r.gaugeUnit));
  }

  private publish(topic: string, payload: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.aedes.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true, dup: false } as never,
        (err?: Error) => (err ? reject(err) : resolve()),
      ),
    );
  }

  private async retainedCounter(sid: string): Promise<Published | undefined> {
    const persistence = (this.aedes as unknown as { persistence: unknown }).persistence as {
      createRetainedStream(pattern: string): AsyncIterable<{ payload?: Buffer | string }>;
    };
    for await (const p of persistence.createRetainedStream(`/sensor/${sid}/counter`))
      return p.payload === undefined ? undefined : parseCounterPayload(Buffer.from(p.payload));
    return undefined;
  }
}

/**
 * `[ts,value,"unit"]` with no spaces, the value printed as Lua's `%.14g` prints it, byte for byte
 * what the FLM's fluksod publishes (docs/protocols/server-bridge.md#live-readings).
 */
export function counterPayload(ts: number, value: number, unit: string): string {
  return `[${ts},${formatG14(value)},${JSON.stringify(unit)}]`;
}

/** C's `%.14g`: 14 significant digits, trailing zeros dropped, an exponent only outside 1e-4..1e14. */
export function formatG14(v: number): string {
  if (v === 0) return '0';
  // the exponent after rounding to 14 digits: 99999999999999.5 prints as 1e+14
  const e = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(14)))));
  if (e < -4 || e >= 14) {
    const [m = '', x = '0'] = v.toExponential(13).split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const n = Number(x);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, 13 - e));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

function parseCounterPayload(payload: Buffer): Published | undefined {
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number') return { ts: v[0], value: v[1] };
  } catch {
    // a retained counter someone else wrote badly: as if there were none
  }
  return undefined;
}
