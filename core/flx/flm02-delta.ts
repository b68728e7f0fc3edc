import type { Sensor } from '../config/schema';
import type { BoardBatch, PortRecord } from '../mqtt/board-batch';
import { decodeFlm02Reply, type Flm02DeltaRecord } from './flm02';

/**
 * FLM02 `gd` replies (docs/protocols/sensor-board.md#flm02-delta) as the BoardBatch the reading
 * computation takes.
 *
 * The board reports absolute counters; a batch wants pulses since the last one. So the previous
 * counter of every pulse sensor is kept here, and the difference is turned back into pulses with
 * the sensor's meter constant. The first report of a sensor only sets that baseline.
 *
 * Pulse times come as the AVR's millisecond clock, which starts at 0 when the board resets and
 * wraps after 49.7 days. They are placed on the host clock with one offset for the whole board:
 * a pulse reported at a poll happened before that poll, so `poll − avr` is at least the true
 * offset and the smallest such value seen is the best estimate. Differences between pulse times,
 * which is what gauges are made of, stay the AVR's own, exact to the millisecond, as on the FLM.
 */

export const FLM02_SENSORS = 6;
/** BoardBatch's limit on pulses per record */
const MAX_PULSES = 1_000_000;
/** BoardBatch's limit on analog power */
const MAX_POWER = 1e7;
const U32 = 2 ** 32;

export interface Flm02DeltaOptions {
  /**
   * The device's sensor table: FLM02 sensor n (1..6) is logical sensor n − 1, and gives the port
   * a record is filed under and a pulse sensor's meter constant. Without it, sensor n is port n
   * with constant 1 (the FLM02 defaults).
   */
  sensors?: readonly Sensor[];
  /** `max_analog_sensors`: logical sensors below this report power, the rest pulses; default 3 */
  analogSensors?: number;
  /**
   * A pulse that looks older than this, measured against the current clock offset, means the
   * AVR clock restarted or wrapped (or polls were lost), and the offset is taken afresh; ms.
   * Default 3000: a pulse is reported at the first poll after it, normally within a second.
   */
  clockJumpMs?: number;
  /**
   * 'pulses' (default): pulse sensors as pulse counts since the previous report, analog sensors
   * as power for the reading computation to integrate.
   * 'totals': the board's own running totals as `counter` records (pulse sensors with the time of
   * their last pulse) and analog power as a `gauge` record, the way the FLM03 board is read: the
   * published counter then equals the board's exactly, and flm-sensor's kept references make a
   * host restart lose nothing the board counted meanwhile. A total that goes back (an AVR reset
   * to the EEPROM copy) is not passed on: it is held until the board is past the last total seen
   * again, and reported in `fellBack` so the caller can set the counter back (`sc`).
   */
  output?: 'pulses' | 'totals';
}

export interface DeltaBatchResult {
  batch: BoardBatch;
  /** records that could not be turned into readings, and why */
  warnings: string[];
  /** totals mode: sensors whose counter went back, with the last whole total seen (to restore) */
  fellBack?: Array<{ sensor: number; restore: number }>;
}

interface Slot {
  port: number;
  analog: boolean;
  /** thousandths of a unit per pulse */
  constMilli: number;
}

export class Flm02DeltaDecoder {
  private readonly slots: Slot[] = [];
  private readonly clockJumpMs: number;
  private readonly totals: boolean;
  /** counter × 1000 + milli of each logical sensor at its last report (totals: the highest passed on) */
  private readonly previous = new Map<number, number>();
  /** host ms − AVR ms */
  private offset: number | undefined;

  constructor(options: Flm02DeltaOptions = {}) {
    const analog = options.analogSensors ?? 3;
    this.clockJumpMs = options.clockJumpMs ?? 3000;
    this.totals = options.output === 'totals';
    for (let i = 0; i < FLM02_SENSORS; i++) {
      const s = options.sensors?.find((x) => x.n === i + 1);
      this.slots.push({
        port: s?.port[0] ?? i + 1,
        analog: i < analog,
        constMilli: Math.round((s?.constant ?? 1) * 1000),
      });
    }
  }

  /** A gd reply frame (`lgd….`) polled at `pollMs` (host Unix ms). */
  decodeReply(text: string, pollMs: number): DeltaBatchResult {
    const r = decodeFlm02Reply(text);
    if (!r.ok) return { batch: { time: pollMs, records: [] }, warnings: [`gd reply dropped: ${r.detail}`] };
    if (r.message.cmd !== 'gd')
      return { batch: { time: pollMs, records: [] }, warnings: [`expected a gd reply, got ${r.message.cmd}`] };
    return this.toBatch(r.message.records ?? [], pollMs);
  }

  toBatch(records: readonly Flm02DeltaRecord[], pollMs: number): DeltaBatchResult {
    if (this.totals) return this.totalsBatch(records, pollMs);
    const warnings: string[] = [];
    const out: PortRecord[] = [];
    const pulses: { port: number; count: number; avrMs: number }[] = [];

    for (const r of records) {
      const slot = this.slotOf(r, warnings);
      if (!slot) continue;
      if (slot.analog) {
        if (plausiblePower(r, warnings)) out.push({ kind: 'analog', port: slot.port, power: r.extra });
        continue;
      }
      const count = this.pulsesSince(r, slot, warnings);
      if (count > 0) pulses.push({ port: slot.port, count, avrMs: r.extra });
    }

    if (pulses.length > 0) {
      const offset = this.placeOnHostClock(pulses, pollMs);
      for (const p of pulses) out.push({ kind: 'pulse', port: p.port, pulses: p.count, time: p.avrMs + offset });
    }
    return { batch: { time: pollMs, records: out }, warnings };
  }

  private slotOf(r: Flm02DeltaRecord, warnings: string[]): Slot | undefined {
    const slot = this.slots[r.sensor];
    if (!slot) warnings.push(`sensor ${r.sensor}: the FLM02 board has sensors 0..${FLM02_SENSORS - 1}`);
    return slot;
  }

  /** One offset for all pulse records of a poll, so they stay in the AVR's order. */
  private placeOnHostClock(pulses: ReadonlyArray<{ avrMs: number }>, pollMs: number): number {
    const obs = Math.min(...pulses.map((p) => pollMs - p.avrMs));
    if (this.offset === undefined || obs < this.offset || obs - this.offset > this.clockJumpMs) this.offset = obs;
    return this.offset;
  }

  private totalsBatch(records: readonly Flm02DeltaRecord[], pollMs: number): DeltaBatchResult {
    const warnings: string[] = [];
    const fellBack: Array<{ sensor: number; restore: number }> = [];
    const out: PortRecord[] = [];
    const pulses: Array<{ port: number; value: number; avrMs: number }> = [];
    for (const r of records) {
      const slot = this.slotOf(r, warnings);
      if (!slot) continue;
      if (slot.analog && plausiblePower(r, warnings)) out.push({ kind: 'gauge', port: slot.port, value: r.extra });
      const now = r.counter * 1000 + r.milli;
      const before = this.previous.get(r.sensor);
      // A drop from the top half of the u32 to the bottom half is a wrap, which the reading
      // computation takes as a restart from 0; any other drop is the board forgetting counts.
      const wrapped = before !== undefined && before >= (U32 / 2) * 1000 && now < (U32 / 2) * 1000;
      if (before !== undefined && now < before && !wrapped) {
        if (Math.floor(before / 1000) > r.counter) {
          warnings.push(
            `sensor ${r.sensor}: counter went back from ${before / 1000} to ${now / 1000}; held until it is past ${before / 1000} again`,
          );
          fellBack.push({ sensor: r.sensor, restore: Math.floor(before / 1000) });
        }
        continue;
      }
      this.previous.set(r.sensor, now);
      if (slot.analog) out.push({ kind: 'counter', port: slot.port, value: now / 1000 });
      else pulses.push({ port: slot.port, value: now / 1000, avrMs: r.extra });
    }
    if (pulses.length > 0) {
      const offset = this.placeOnHostClock(pulses, pollMs);
      for (const p of pulses) out.push({ kind: 'counter', port: p.port, value: p.value, time: p.avrMs + offset });
    }
    return { batch: { time: pollMs, records: out }, warnings, ...(fellBack.length ? { fellBack } : {}) };
  }

  private pulsesSince(r: Flm02DeltaRecord, slot: Slot, warnings: string[]): number {
    const now = r.counter * 1000 + r.milli;
    const before = this.previous.get(r.sensor);
    this.previous.set(r.sensor, now);
    if (before === undefined) return 0;
    let delta = now - before;
    // The counter is a u32: a drop from the top half to the bottom half is a wrap, any other
    // drop a reset (sc, or an EEPROM restore after power loss, which also loses milli).
    if (delta < 0 && before >= (U32 / 2) * 1000 && now < (U32 / 2) * 1000) delta += U32 * 1000;
    if (delta < 0) {
      warnings.push(
        `sensor ${r.sensor}: counter went back from ${before / 1000} to ${now / 1000}; counting on from the new value`,
      );
      return 0;
    }
    if (slot.constMilli <= 0) {
      warnings.push(`sensor ${r.sensor}: no meter constant to count pulses with`);
      return 0;
    }
    const count = Math.round(delta / slot.constMilli);
    if (count > MAX_PULSES) {
      warnings.push(`sensor ${r.sensor}: counter jumped by ${delta / 1000}; taken as a counter set, not pulses`);
      return 0;
    }
    if (count * slot.constMilli !== delta) {
      warnings.push(
        `sensor ${r.sensor}: counter moved by ${delta / 1000}, not a whole number of pulses of ${slot.constMilli / 1000}; ` +
          `counted ${count} (is the board's meter constant the table's?)`,
      );
    }
    return count;
  }
}

/** A clamp's power from the AVR, unless it is beyond what any FLM02 clamp can see. */
function plausiblePower(r: Flm02DeltaRecord, warnings: string[]): boolean {
  if (r.extra <= MAX_POWER) return true;
  warnings.push(`sensor ${r.sensor}: power ${r.extra} W is not plausible; dropped`);
  return false;
}

/**
 * spid's delta line: poll second, then `<i> <counter[.milli]> <extra>` per record, as
 * written into fluksod's FIFO; e.g. `1449999999 0 123456 742 3 5012.5 86400123`.
 */
export function formatDeltaLine(pollSeconds: number, records: readonly Flm02DeltaRecord[]): string {
  const parts = [String(pollSeconds)];
  for (const r of records)
    parts.push(String(r.sensor), String(r.milli > 0 ? r.counter + r.milli / 1000 : r.counter), String(r.extra));
  return parts.join(' ');
}
