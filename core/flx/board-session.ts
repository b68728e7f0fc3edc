import type { Sensor } from '../config/schema';
import type { BoardBatch, PortRecord } from '../mqtt/board-batch';
import { Flm03Decoder, type Flm03DecoderStats } from './flm03-decoder';
import {
  CT_COUNTERS,
  CT_PARAMETERS,
  kubeCtrlFrame,
  type CtData,
  type Flm03Message,
  type Flm03PortConfig,
  type PulseData,
} from './flm03-messages';
import { portConfigFrame, type PortConfigOptions } from './flm03-port-config';
import { q2011Thousandths } from './fixed-point';
import { CLOCK_VALID_AFTER } from '../config/clock-valid';
import { decideBoardTime, type BoardTimeDecision } from './flm03-readings';
import { parseKubePacket, type KubePacket } from './kube';
import { StreamClock } from './stream-clock';
import { clampRanges, plausibleGauges, type ClampRange } from './gauge-sanity';

/**
 * The host's side of an FLM03 sensor board (docs/protocols/sensor-board.md#flm03-message-types), as
 * flxd plays it, without any I/O: bytes from the UART in; board batches for the reading
 * computation, frames to write back, and news out.
 *
 * - A ping means the board has no configuration: it gets the port_config built from the sensor
 *   table (and the Kube radio group, when one is set). The same config is also sent when a
 *   connection opens, so a board that kept an old one learns the current table.
 * - time_stamp follows the board-time rules: a valid host clock steps a board that is off by a
 *   second or more; an invalid host clock takes the board's as the time reference.
 * - ct_data and pulse_data become `counter` and `gauge` records stamped with board time: a clamp
 *   second is stamped `time − 1` (it covers the second before), a pulse report with its pulse
 *   time. The board keeps the running totals, so a lost frame costs a gauge, never a count.
 * - Records of one board second go out as one batch, so the three clamps of a three-phase sum
 *   meet; a second is complete when a later one starts, or when the caller flushes.
 * - What the frame checksum cannot protect (a byte flipped between 0x00 and 0xFF;
 *   docs/protocols/sensor-board.md#flm03-plausibility) is checked here where the board's own fields
 *   say what is possible: a second out of step with the stream is held until the next frame
 *   confirms or refutes it (stream-clock.ts); a gauge the clamp cannot have measured is dropped
 *   (gauge-sanity.ts); a pulse report whose milliseconds are not 0–999 is dropped (its total comes
 *   again with the next one). Each is counted in the stats. Running totals are checked by the
 *   reading computation.
 */

export interface BoardSessionOptions {
  sensors: readonly Sensor[];
  /** the device's phase (1 or 3) */
  phase?: 1 | 3;
  /** readings stamped at or before this are not valid (the FLM's 2009-02-13 rule) */
  validAfter?: number;
  /** Kube radio group to tell the board after its config; none: the board keeps its own */
  kubeGroup?: number;
  portConfig?: Omit<PortConfigOptions, 'phase'>;
}

export type BoardEvent =
  | { type: 'configured'; reason: 'ping' | 'connect' }
  | { type: 'time'; decision: BoardTimeDecision }
  | { type: 'kube'; packet: KubePacket }
  | { type: 'kube-error'; reason: string }
  | { type: 'board-config'; config: Flm03PortConfig }
  | { type: 'malformed'; typeId: number; reason: string };

export interface BoardOutput {
  batches: BoardBatch[];
  /** frames for the board, in order */
  writes: Uint8Array[];
  events: BoardEvent[];
}

export interface BoardSessionStats extends Flm03DecoderStats {
  /** messages per type name */
  byType: Record<string, number>;
  batches: number;
  configsSent: number;
  timeSteps: number;
  /** clamp or pulse reports whose second was out of step with the stream and not confirmed */
  droppedTimeFrames: number;
  /** clamp gauges outside what the clamp can measure */
  droppedGauges: number;
  /** pulse reports with milliseconds (of the time or of the total) outside 0–999 */
  droppedPulseFrames: number;
}

export class BoardSession {
  private readonly decoder: Flm03Decoder;
  private readonly configFrame: Uint8Array;
  /** problems building the port config from the sensor table, for the caller to report once */
  readonly configProblems: readonly string[];
  private readonly validAfter: number;
  private readonly kubeGroup: number | undefined;
  /** records waiting for their board second to complete, by that second */
  private readonly pending = new Map<number, PortRecord[]>();
  private readonly byType: Record<string, number> = {};
  private counts = { batches: 0, configsSent: 0, timeSteps: 0, droppedGauges: 0, droppedPulseFrames: 0 };
  private readonly clock = new StreamClock();
  /** records of the second the clock holds, until the next frame decides on it */
  private held: PortRecord[] | undefined;
  private readonly ranges: Map<number, ClampRange>;
  private malformed: Array<{ typeId: number; reason: string }> = [];
  /** board ms minus host ms, once the board clock is the reference (host clock invalid) */
  private boardOffsetMs: number | undefined;

  constructor(options: BoardSessionOptions) {
    this.validAfter = options.validAfter ?? CLOCK_VALID_AFTER;
    this.kubeGroup = options.kubeGroup;
    const { frame, problems } = portConfigFrame(options.sensors, { ...options.portConfig, phase: options.phase ?? 1 });
    this.configFrame = frame;
    this.ranges = clampRanges(options.sensors, options.phase ?? 1);
    this.configProblems = problems;
    this.decoder = new Flm03Decoder({ onMalformed: (typeId, reason) => this.malformed.push({ typeId, reason }) });
  }

  get stats(): BoardSessionStats {
    return { ...this.decoder.stats, byType: { ...this.byType }, ...this.counts, droppedTimeFrames: this.clock.dropped };
  }

  /** When the host clock is not valid and the board's is: board ms − host ms. */
  get boardClockOffsetMs(): number | undefined {
    return this.boardOffsetMs;
  }

  /** A connection opened: forget half a frame from before, and send the board its config. */
  connected(): BoardOutput {
    this.decoder.reset();
    return { batches: [], writes: this.configure(), events: [{ type: 'configured', reason: 'connect' }] };
  }

  push(chunk: Uint8Array, hostMs: number): BoardOutput {
    const out: BoardOutput = { batches: [], writes: [], events: [] };
    for (const m of this.decoder.push(chunk)) this.handle(m, hostMs, out);
    for (const bad of this.malformed.splice(0)) out.events.push({ type: 'malformed', ...bad });
    return out;
  }

  /**
   * Every record still waiting, as batches (the line went quiet, or the node is closing). A
   * report whose second is still held waits for the next frame.
   */
  flush(): BoardBatch[] {
    return this.release(Infinity);
  }

  private configure(): Uint8Array[] {
    this.counts.configsSent++;
    return this.kubeGroup === undefined ? [this.configFrame] : [this.configFrame, kubeCtrlFrame(this.kubeGroup)];
  }

  private handle(m: Flm03Message, hostMs: number, out: BoardOutput): void {
    const name = m.type === 'unknown' ? `type ${m.typeId}` : m.type;
    this.byType[name] = (this.byType[name] ?? 0) + 1;
    switch (m.type) {
      case 'ping':
        out.writes.push(...this.configure());
        out.events.push({ type: 'configured', reason: 'ping' });
        return;
      case 'time_stamp': {
        const decision = decideBoardTime(m.time, hostMs, this.validAfter);
        if (decision.action === 'step-board') {
          out.writes.push(decision.frame);
          this.counts.timeSteps++;
        }
        this.boardOffsetMs = decision.action === 'adopt-board-clock' ? decision.offsetMs : undefined;
        out.events.push({ type: 'time', decision });
        return;
      }
      case 'ct_data':
        return this.add(m.time - 1, this.plausibleCt(m), hostMs, out);
      case 'pulse_data':
        if (m.millis > 999 || m.counterMillis > 999) {
          this.counts.droppedPulseFrames++;
          return;
        }
        return this.add(m.time, pulseRecords(m), hostMs, out);
      case 'kube_packet': {
        const parsed = parseKubePacket(m.payload);
        out.events.push(
          parsed.ok ? { type: 'kube', packet: parsed.packet } : { type: 'kube-error', reason: parsed.reason },
        );
        return;
      }
      case 'port_config':
        out.events.push({ type: 'board-config', config: m });
        return;
      default:
    }
  }

  private plausibleCt(ct: CtData): PortRecord[] {
    const records = ctRecords(ct);
    const range = this.ranges.get(ct.port + 1);
    if (!range || records.length === 0) return records;
    // ctRecords gives the 6 counters, then the 12 gauges in CT_PARAMETERS order, already scaled.
    const ok = plausibleGauges(
      records.slice(CT_COUNTERS).map((r) => (r.kind === 'gauge' ? r.value : NaN)),
      range,
    );
    return records.filter((_r, i) => {
      const keep = i < CT_COUNTERS || ok[i - CT_COUNTERS]!;
      if (!keep) this.counts.droppedGauges++;
      return keep;
    });
  }

  private add(second: number, records: PortRecord[], hostMs: number, out: BoardOutput): void {
    if (records.length === 0) return;
    const heldSecond = this.clock.heldSecond;
    const placed = this.clock.place(second, hostMs);
    if (placed === 'held') {
      this.held = records;
      return;
    }
    const held = this.held;
    this.held = undefined;
    if (placed === 'moved') {
      // What was pending belongs to the stream before the move: out with it, before the new seconds.
      out.batches.push(...this.release(Infinity));
      if (held) this.pend(heldSecond!, held, out);
    }
    this.pend(second, records, out);
  }

  private pend(second: number, records: PortRecord[], out: BoardOutput): void {
    out.batches.push(...this.release(second));
    const list = this.pending.get(second);
    if (list) list.push(...records);
    else this.pending.set(second, records);
  }

  /** Batches for every pending second before `second`, oldest first. */
  private release(second: number): BoardBatch[] {
    const done = [...this.pending.keys()].filter((s) => s < second).sort((a, b) => a - b);
    return done.map((s) => {
      const records = this.pending.get(s)!;
      this.pending.delete(s);
      this.counts.batches++;
      // The end of the board second the records cover: ts = that second, and pulse times lie before it.
      return { time: s * 1000 + 999, records };
    });
  }
}

/** One clamp second: the six running totals exactly (whole units plus a 1/65536 fraction) and the twelve gauges. */
function ctRecords(ct: CtData): PortRecord[] {
  if (ct.port > 2) return [];
  const port = ct.port + 1;
  const out: PortRecord[] = [];
  for (let i = 0; i < CT_COUNTERS; i++) {
    const c = ct.counters[i]!;
    out.push({ kind: 'counter', port, subtype: CT_PARAMETERS[i]!, value: (c.integer >>> 0) + c.fraction / 65536 });
  }
  for (let i = 0; i < CT_PARAMETERS.length; i++) {
    out.push({ kind: 'gauge', port, subtype: CT_PARAMETERS[i]!, value: q2011Thousandths(ct.gauges[i]!) / 1000 });
  }
  return out;
}

/**
 * A pulse port's running total, in counter units with thousandths, at the time of its last
 * pulse. The board's own gauge is left out: the reading computation derives the rate from the
 * totals and pulse times, and lets it fall when pulses stop.
 */
function pulseRecords(p: PulseData): PortRecord[] {
  if (p.port < 3 || p.port > 5) return [];
  return [
    {
      kind: 'counter',
      port: p.port + 1,
      value: ((p.counter >>> 0) * 1000 + p.counterMillis) / 1000,
      time: p.time * 1000 + p.millis,
    },
  ];
}
