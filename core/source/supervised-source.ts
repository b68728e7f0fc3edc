import { ReconnectingSource, type Connector, type SourceState } from '../link/reconnecting';
import { Watchdog } from '../link/watchdog';
import { RateLimiter } from '../link/rate-limit';
import { systemClock, type Clock } from '../util/clock';
import { shorten, type StatusView } from '../util/status-view';
import { linkStatusView } from './link-status';

export type Availability = 'online' | 'offline';
export type LogLevel = 'log' | 'warn';

export interface SupervisedSourceOptions {
  /** opens the transport; none when the bytes come in messages (flm-p1's `input` source) */
  connect?: Connector;
  /** the port path or host:port, for log lines */
  label: string;
  /** what the watchdog waits for, in its log line: "telegram", "frame" */
  unit: string;
  /** silence before the source counts as offline (and the connection is dropped); 0: no watchdog */
  watchdogMs: number;
  /** a shorter limit for a connection's first frame (serial auto-detect) */
  probeMs?: number;
  /** bytes from the transport */
  onData(chunk: Buffer): void;
  onConnected?(label: string): void;
  onAvailability(a: Availability): void;
  onLog(level: LogLevel, text: string): void;
  /** the supervision state changed: time to show the status again */
  onChange(): void;
  /** how a transport error reads in the status; default its code, else its message */
  errorLabel?: (err: Error) => string;
  clock?: Clock;
}

/** Retries start after a second and double up to half a minute. */
const BACKOFF = { initialMs: 1000, maxMs: 30_000 };
/** One log line per kind of trouble a minute: a port that is gone fails the same way every retry. */
const LOG_INTERVAL_MS = 60_000;

const defaultLabel = (err: Error): string => (err as NodeJS.ErrnoException).code ?? shorten(err.message, 24);

/**
 * A meter or board connection kept alive for a node: it opens the transport, reconnects with
 * backoff when it fails or goes silent, tells "online"/"offline" once per change, logs trouble
 * rate-limited, and says in one status line how the link is doing. The node that owns it only
 * decodes the bytes and tells it when a frame arrived.
 */
export class SupervisedSource {
  private readonly clock: Clock;
  private readonly logLimiter: RateLimiter;
  private readonly watchdog: Watchdog;
  private readonly src?: ReconnectingSource;
  private availability?: Availability;
  private sourceState?: SourceState;
  private closed = false;

  constructor(private readonly o: SupervisedSourceOptions) {
    this.clock = o.clock ?? systemClock;
    this.logLimiter = new RateLimiter(LOG_INTERVAL_MS, () => this.clock.now());
    this.watchdog = new Watchdog(o.watchdogMs, (silentMs, fires) => this.silent(silentMs, fires), this.clock);
    if (o.connect) {
      this.src = new ReconnectingSource({
        connect: o.connect,
        // A connection that frames nothing for the watchdog time is dropped and opened again.
        idleMs: o.watchdogMs,
        probeMs: o.probeMs ?? 0,
        backoff: BACKOFF,
        clock: this.clock,
        onData: (chunk) => {
          if (!this.closed) o.onData(chunk);
        },
        onState: (s) => this.stateChanged(s),
      });
    }
  }

  start(): void {
    this.watchdog.start();
    this.src?.start();
  }

  /** The transport delivered a frame, good or bad: it is alive, so the backoff starts over. */
  framed(): void {
    this.src?.frameSeen();
  }

  /** Good data arrived: the silence is over and the source is online. */
  delivered(): void {
    this.watchdog.kick();
    this.setAvailability('online');
  }

  get connected(): boolean {
    return this.sourceState?.state === 'connected';
  }

  /** Bytes for the device; rejects when not connected or the transport cannot write. */
  write(data: Uint8Array): Promise<void> {
    return this.src ? this.src.write(data) : Promise.reject(new Error('not connected'));
  }

  /** A warning at most once a minute per key. */
  warnOnce(key: string, text: string, level: LogLevel = 'warn'): void {
    const report = this.logLimiter.take(key, text);
    if (report) this.o.onLog(level, report);
  }

  /**
   * The link's own status, when it has something to say: silence, a failing transport, no data
   * yet. Undefined once data flows normally: the owner then shows its counts.
   */
  view(hasData: boolean, idleText?: string): StatusView | undefined {
    const label = this.o.errorLabel ?? defaultLabel;
    const s = this.sourceState;
    const failing = s?.state === 'waiting' && s.error ? s : undefined;
    const why = failing ? label(failing.error!) : '';
    if (this.watchdog.stale)
      return linkStatusView({ kind: 'silent', seconds: Math.round(this.watchdog.silentMs / 1000), why });
    if (failing)
      return linkStatusView({ kind: 'failing', why, retrySeconds: Math.max(1, Math.round(failing.delayMs / 1000)) });
    if (hasData) return undefined;
    if (idleText) return { level: 'idle', text: idleText };
    return linkStatusView({ kind: 'waiting', connected: this.connected });
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.watchdog.stop();
    await this.src?.stop();
  }

  private setAvailability(a: Availability): void {
    if (a === this.availability || this.closed) return;
    this.availability = a;
    this.o.onAvailability(a);
  }

  private silent(silentMs: number, fires: number): void {
    if (this.closed) return;
    if (fires === 1) {
      this.setAvailability('offline');
      this.warnOnce(
        'silent',
        `no ${this.o.unit} for ${Math.round(silentMs / 1000)} s from ${this.o.label}${this.src ? '; reconnecting' : ''}`,
      );
    }
    this.o.onChange();
  }

  private stateChanged(s: SourceState): void {
    if (this.closed) return;
    this.sourceState = s;
    if (s.state === 'connected') this.o.onConnected?.(s.label);
    else if (s.state === 'waiting') {
      const why = s.error ? `${s.reason}: ${s.error.message}` : s.reason;
      const key = `source:${s.reason}:${(s.error as NodeJS.ErrnoException | undefined)?.code ?? s.error?.message ?? ''}`;
      this.warnOnce(key, `${this.o.label}: ${why}; retrying in ${Math.max(1, Math.round(s.delayMs / 1000))} s`);
    }
    this.o.onChange();
  }
}
