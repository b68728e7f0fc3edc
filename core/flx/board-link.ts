import { z } from 'zod';
import type { Sensor } from '../config/schema';
import type { BoardBatch } from '../mqtt/board-batch';
import { BoardSession, type BoardEvent } from './board-session';
import { Flm02Session } from './flm02-session';
import { flm03Summary } from './board-status';
import type { Phrase } from '../util/status-view';

/**
 * What flm-board needs from a sensor-board protocol, so the node does not care which one it
 * talks: bytes in, frames out, batches and news out, the host clock passed in (no timers here).
 *
 * - FLM03 (docs/protocols/sensor-board.md#flm03-frames): the board talks by itself, binary frames
 *   at 460800 baud.
 * - FLM02 (docs/protocols/sensor-board.md#flm02-frames): the board answers when asked; ASCII
 *   frames. Its SPI link becomes a serial one on a rebuilt board or behind an SPI-serial bridge, at
 *   whatever baud the bridge uses; 115200 is the FLM02A board's own UART rate and the usual bridge
 *   default.
 */

export type BoardProtocol = 'flm03' | 'flm02';
export const FLM03_BAUD = 460800;
const FLM02_BAUD = 115200;
export const DEFAULT_BAUD: Readonly<Record<BoardProtocol, number>> = { flm03: FLM03_BAUD, flm02: FLM02_BAUD };
export const boardProtocolSchema = z.enum(['flm03', 'flm02']);

/** A protocol setting as a person types it ("FLM02", "flm02"); throws a clear error otherwise. */
export function parseBoardProtocol(value: string): BoardProtocol {
  const r = boardProtocolSchema.safeParse(value.trim().toLowerCase());
  if (!r.success) throw new Error(`protocol: "${value}" is not flm03 or flm02`);
  return r.data;
}

export type LinkEvent =
  | BoardEvent
  /** something the user should hear about, at most once a minute per key */
  | { type: 'warning'; key: string; text: string }
  /** worth a line in the log (not a problem) */
  | { type: 'note'; key: string; text: string };

export interface LinkOutput {
  batches: BoardBatch[];
  /** bytes for the board, in order */
  writes: Uint8Array[];
  events: LinkEvent[];
}

export interface LinkStats {
  /** good frames (FLM03) or good replies (FLM02): what the watchdog counts */
  frames: number;
  /** frames or replies dropped: bad checksum, malformed, unanswered */
  bad: number;
  batches: number;
}

export interface BoardLinkOptions {
  sensors: readonly Sensor[];
  phase?: 1 | 3;
  validAfter?: number;
  kubeGroup?: number;
}

export interface BoardLink {
  readonly protocol: BoardProtocol;
  /** problems with the sensor table for this board, to report once */
  readonly configProblems: readonly string[];
  readonly stats: LinkStats;
  /** the status's counts in the protocol's own words (`120 replies · 2 bad · 118 batches`), as phrases to translate */
  summary(): Phrase[];
  /** a connection opened */
  connected(hostMs: number): LinkOutput;
  /** bytes from the board */
  push(chunk: Uint8Array, hostMs: number): LinkOutput;
  /** the clock moved (the node calls this every `tickMs`): polls, timeouts */
  tick(hostMs: number): LinkOutput;
  /** batches still held back (the line went quiet, or the node is closing) */
  flush(): BoardBatch[];
  /** how often tick() wants to be called; 0: never */
  readonly tickMs: number;
}

export const emptyOutput = (): LinkOutput => ({ batches: [], writes: [], events: [] });

/** The FLM03 BoardSession behind the common interface. */
class Flm03Link implements BoardLink {
  readonly protocol = 'flm03';
  readonly tickMs = 0;
  private readonly session: BoardSession;

  constructor(options: BoardLinkOptions) {
    this.session = new BoardSession(options);
  }

  get configProblems(): readonly string[] {
    return this.session.configProblems;
  }

  get stats(): LinkStats {
    const s = this.session.stats;
    return { frames: s.frames, bad: s.badChecksum + s.malformed, batches: s.batches };
  }

  /**
   * Reports that passed the checksum but not the plausibility checks (a time out of step, a
   * gauge the clamp cannot measure, pulse milliseconds above 999): what Fletcher-16 cannot see.
   */
  get implausible(): number {
    const s = this.session.stats;
    return s.droppedTimeFrames + s.droppedGauges + s.droppedPulseFrames;
  }

  summary(): Phrase[] {
    return flm03Summary(this.stats, this.implausible);
  }

  connected(): LinkOutput {
    return this.session.connected();
  }

  push(chunk: Uint8Array, hostMs: number): LinkOutput {
    const out: LinkOutput = this.session.push(chunk, hostMs);
    out.events = out.events.flatMap((e): LinkEvent[] => {
      if (e.type === 'malformed')
        return [{ type: 'warning', key: `malformed:${e.typeId}`, text: `board frame dropped: ${e.reason}` }];
      if (e.type === 'configured' && e.reason === 'ping') {
        return [
          e,
          {
            type: 'note',
            key: 'ping',
            text: 'the board asked for its configuration (ping): sent the port config from the sensor table',
          },
        ];
      }
      return [e];
    });
    return out;
  }

  tick(): LinkOutput {
    return emptyOutput();
  }

  flush(): BoardBatch[] {
    return this.session.flush();
  }
}

/** The link for a protocol; FLM02 options beyond the common ones keep their defaults. */
export function createBoardLink(protocol: BoardProtocol, options: BoardLinkOptions): BoardLink {
  return protocol === 'flm02' ? new Flm02Session(options) : new Flm03Link(options);
}
