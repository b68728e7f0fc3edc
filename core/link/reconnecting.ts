import { Backoff, type BackoffOptions } from './backoff';
import { systemClock, type Clock } from '../util/clock';

/**
 * A byte source that stays connected: it opens a transport (serial port, TCP socket), hands
 * its bytes on, and when the transport fails, closes or goes silent it opens it again after
 * an exponential, jittered, capped delay. The delay starts over once a connection delivers a
 * frame, not merely when it opens: a port that opens and then says nothing is no success.
 */

export interface ConnectionHandlers {
  data(chunk: Buffer): void;
  /** the transport ended on its own (peer closed, device unplugged, read error) */
  closed(err?: Error): void;
}

export interface Connection {
  /** e.g. "/dev/ttyUSB0 115200 8N1" or "192.0.2.10:2001" */
  readonly label: string;
  /** Close and release the transport; resolves when done (or after a bounded wait). */
  close(): Promise<void>;
  /** Send bytes, for transports that talk back (a sensor board); resolves once handed to the OS. */
  write?(data: Uint8Array): Promise<void>;
}

/** How the previous attempt went, so a connector can change its settings (serial auto-detect). */
export type AttemptOutcome = 'first' | 'open-failed' | 'silent' | 'productive';

export interface ConnectContext {
  /** 1 for the first attempt, counting up; back to 1 after a productive connection */
  attempt: number;
  previous: AttemptOutcome;
}

export type Connector = (handlers: ConnectionHandlers, context: ConnectContext) => Promise<Connection>;

export type SourceState =
  | { state: 'connecting'; attempt: number }
  | { state: 'connected'; label: string }
  | { state: 'waiting'; delayMs: number; reason: string; error?: Error }
  | { state: 'stopped' };

export interface ReconnectingSourceOptions {
  connect: Connector;
  onData: (chunk: Buffer) => void;
  onState?: (state: SourceState) => void;
  backoff?: BackoffOptions;
  /**
   * Reconnect when a connection frames nothing for this long: a pty or USB adapter that went
   * away may raise no error on a port that is only read, and a dongle may keep a TCP connection
   * whose meter side is dead (docs/protocols/p1.md#sanity-rules). 0: never.
   */
  idleMs?: number;
  /** a shorter limit for the first frame of a connection (serial auto-detect); default idleMs */
  probeMs?: number;
  clock?: Clock;
}

export class ReconnectingSource {
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private conn?: Connection;
  /** bumped whenever a connection is abandoned, so its late callbacks are ignored */
  private generation = 0;
  private retryTimer: unknown;
  private idleTimer: unknown;
  private productive = false;
  private previous: AttemptOutcome = 'first';
  private stopped = false;
  private started = false;
  private lastState: SourceState = { state: 'stopped' };

  constructor(private readonly o: ReconnectingSourceOptions) {
    this.clock = o.clock ?? systemClock;
    this.backoff = new Backoff(o.backoff);
  }

  get state(): SourceState {
    return this.lastState;
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.connectNow();
  }

  /** The current connection delivered a frame: it works, so the backoff starts over, and the idle limit too. */
  frameSeen(): void {
    if (!this.conn) return;
    if (!this.productive) {
      this.productive = true;
      this.backoff.reset();
    }
    this.armIdle(this.o.idleMs ?? 0);
  }

  /**
   * Send bytes on the current connection. Rejects when there is none or the transport cannot
   * write; the bytes are not kept for a later connection (a reply is only meaningful to the
   * board that asked).
   */
  async write(data: Uint8Array): Promise<void> {
    const c = this.conn;
    if (!c) throw new Error('not connected');
    if (!c.write) throw new Error(`${c.label} cannot be written to`);
    await c.write(data);
  }

  /** Drop the current connection and connect again after the backoff delay (no-op unless connected). */
  reconnect(reason: string): void {
    if (this.conn) this.lose(reason);
  }

  /** Close for good; resolves once the transport is released. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    this.clock.clearTimeout(this.retryTimer);
    this.clock.clearTimeout(this.idleTimer);
    const c = this.conn;
    this.conn = undefined;
    this.emit({ state: 'stopped' });
    if (c) await c.close();
  }

  private async connectNow(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    this.emit({ state: 'connecting', attempt: this.backoff.attempt + 1 });
    let conn: Connection;
    try {
      conn = await this.o.connect(
        {
          data: (chunk) => {
            if (gen === this.generation) this.o.onData(chunk);
          },
          closed: (err) => {
            if (gen === this.generation && this.conn) this.lose(err ? 'error' : 'closed', err);
          },
        },
        { attempt: this.backoff.attempt + 1, previous: this.previous },
      );
    } catch (err) {
      if (this.stopped || gen !== this.generation) return;
      this.previous = 'open-failed';
      this.schedule('cannot connect', err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.stopped || gen !== this.generation) {
      await conn.close().catch(() => undefined);
      return;
    }
    this.conn = conn;
    this.productive = false;
    this.emit({ state: 'connected', label: conn.label });
    this.armIdle(this.o.probeMs || this.o.idleMs || 0);
  }

  private armIdle(ms: number): void {
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (ms > 0)
      this.idleTimer = this.clock.setTimeout(() => this.reconnect(`no data for ${Math.round(ms / 100) / 10} s`), ms);
  }

  private lose(reason: string, err?: Error): void {
    const c = this.conn;
    this.conn = undefined;
    this.generation++;
    this.clock.clearTimeout(this.idleTimer);
    this.previous = this.productive ? 'productive' : 'silent';
    if (c) c.close().catch(() => undefined);
    this.schedule(reason, err);
  }

  private schedule(reason: string, error?: Error): void {
    if (this.stopped) return;
    const delayMs = this.backoff.next();
    this.emit(error ? { state: 'waiting', delayMs, reason, error } : { state: 'waiting', delayMs, reason });
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.connectNow();
    }, delayMs);
  }

  private emit(s: SourceState): void {
    this.lastState = s;
    try {
      this.o.onState?.(s);
    } catch {
      // a listener's mistake must not stop the reconnect loop
    }
  }
}
