import type { Connection, Connector } from '../link/reconnecting';
import { serialPortConnector } from '../link/serial-port';
import type { BoardEmulator } from './emulator';
import { FLM03_BAUD } from './board-link';

/**
 * A board emulator on a serial device (one end of a socat pty pair, a USB adapter looped to the
 * host): its virtual clock follows the real one `speed` times faster, its frames go out as they
 * fall due, and what the host writes comes back in. While the board has no config it pings once
 * a real second, like a board waiting for its host.
 *
 * Writes are awaited: when the other side reads slower than the emulator produces (a fast clock
 * on a slow host), the virtual clock waits instead of piling up bytes, so the frames and the
 * truth stay the same whatever the machine.
 */

export { FLM03_BAUD } from './board-link';

/** What EmulatorPort drives: an FLM03 BoardEmulator or an Flm02Emulator. */
export interface EmulatedBoard {
  readonly configured: boolean;
  readonly finished: boolean;
  /** bytes from the host; returns what the board answers */
  input(chunk: Uint8Array): Uint8Array[];
  /** the virtual clock moves on; returns what the board sent meanwhile */
  advance(ms: number): Uint8Array[];
  configureSelf(): Uint8Array[];
  /** what an unconfigured board sends once a second (FLM03 ping); a polled board has none */
  pingFrame?(): Uint8Array;
}

export interface EmulatorPortOptions {
  path: string;
  baudRate?: number;
  /** virtual seconds per real second (default 1) */
  speed?: number;
  /** real ms between clock steps (default 20) */
  tickMs?: number;
  /** real ms between pings while unconfigured (default 1000) */
  pingEveryMs?: number;
  /** the board configures itself instead of waiting for a host (see BoardEmulator.configureSelf) */
  selfConfigure?: boolean;
  /** stop once the emulator is finished (default true) */
  stopWhenFinished?: boolean;
  /** for tests: another transport */
  connect?: Connector;
}

export interface EmulatorPortStats {
  bytesOut: number;
  framesOut: number;
  bytesIn: number;
}

/** Most bytes handed to the port and not yet written; past this the virtual clock waits. */
const MAX_IN_FLIGHT = 64 * 1024;
/** Most virtual time one step may cover, so a stalled event loop does not make one huge burst. */
const MAX_STEP_MS = 60_000;

export class EmulatorPort<B extends EmulatedBoard = BoardEmulator> {
  readonly speed: number;
  private conn?: Connection;
  private timer?: NodeJS.Timeout;
  private lastTick = 0;
  private lastPing = -Infinity;
  private inFlight = 0;
  private writes: Promise<void> = Promise.resolve();
  private readonly counts: EmulatorPortStats = { bytesOut: 0, framesOut: 0, bytesIn: 0 };
  private finish!: (why: string) => void;
  private stopping = false;
  /** why the run ended: 'finished', 'stopped', or what broke the connection */
  readonly done: Promise<string>;

  constructor(
    readonly emulator: B,
    private readonly options: EmulatorPortOptions,
  ) {
    this.speed = options.speed ?? 1;
    if (!(this.speed > 0 && this.speed <= 100_000)) throw new RangeError(`speed ${this.speed} is not in (0, 100000]`);
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  get stats(): EmulatorPortStats {
    return { ...this.counts };
  }

  get label(): string | undefined {
    return this.conn?.label;
  }

  async start(): Promise<void> {
    const connect =
      this.options.connect ??
      serialPortConnector({
        path: this.options.path,
        settings: { baudRate: this.options.baudRate ?? FLM03_BAUD, dataBits: 8, parity: 'none', stopBits: 1 },
      });
    this.conn = await connect(
      {
        data: (chunk) => {
          this.counts.bytesIn += chunk.length;
          this.send(this.emulator.input(chunk));
        },
        closed: (err) => void this.end(err ? `connection lost: ${err.message}` : 'connection closed'),
      },
      { attempt: 1, previous: 'first' },
    );
    if (!this.conn.write) throw new Error(`${this.conn.label} cannot be written to`);
    if (this.options.selfConfigure) this.send(this.emulator.configureSelf());
    this.lastTick = Date.now();
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 20);
    this.tick();
  }

  /** Stop the clock, let the last frames out, close the port. */
  stop(): Promise<string> {
    void this.end('stopped');
    return this.done;
  }

  private tick(): void {
    if (this.stopping) return;
    const now = Date.now();
    if (
      this.emulator.pingFrame &&
      !this.emulator.configured &&
      now - this.lastPing >= (this.options.pingEveryMs ?? 1000)
    ) {
      this.lastPing = now;
      this.send([this.emulator.pingFrame()]);
    }
    if (this.inFlight > MAX_IN_FLIGHT) {
      this.lastTick = now; // the reader is behind: virtual time waits for it
      return;
    }
    const step = Math.min(MAX_STEP_MS, (now - this.lastTick) * this.speed);
    this.lastTick = now;
    this.send(this.emulator.advance(Math.floor(step)));
    if (this.emulator.finished && (this.options.stopWhenFinished ?? true)) void this.end('finished');
  }

  private send(frames: Uint8Array[]): void {
    const conn = this.conn;
    if (!conn?.write || frames.length === 0 || this.stopping) return;
    let bytes = 0;
    for (const f of frames) bytes += f.length;
    const all = new Uint8Array(bytes);
    let at = 0;
    for (const f of frames) {
      all.set(f, at);
      at += f.length;
    }
    this.inFlight += bytes;
    this.counts.framesOut += frames.length;
    this.writes = this.writes
      .then(() => conn.write!(all))
      .then(
        () => {
          this.inFlight -= bytes;
          this.counts.bytesOut += bytes;
        },
        (err: unknown) => void this.end(`write failed: ${err instanceof Error ? err.message : String(err)}`),
      );
  }

  private async end(why: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.timer);
    // Bounded: a reader that never drains must not keep us from closing.
    await Promise.race([this.writes, new Promise((r) => setTimeout(r, 2000))]);
    await this.conn?.close().catch(() => undefined);
    this.finish(why);
  }
}
